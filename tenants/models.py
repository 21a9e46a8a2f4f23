"""Public-schema models: organizations (tenants), their hosts, people, numbers and credentials."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Organization(TenantMixin):
    """A customer organization. Its data lives in its own PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    org_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        db_default="UTC",
        help_text="IANA name (Europe/Berlin); business hours are in this zone.",
    )

    # The schema is created (cloned from TENANT_BASE_SCHEMA) when the row is first saved.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME


class Domain(DomainMixin):
    """A host name that resolves to an organization (or to the public schema)."""


class Membership(models.Model):
    """A user's access to one organization. Users live in the public schema (README)."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        # Agents answer conversations; only admins manage the team, keys and settings.
        MEMBER = "member", "Agent"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization.slug} ({self.role})"


class PhoneNumber(models.Model):
    """Routing table: Meta's `phone_number_id` to the organization that owns the number.

    The shared webhook finds a change's tenant with one lookup on the unique index.
    """

    phone_number_id = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="phone_numbers"
    )
    waba_id = models.CharField(max_length=64, db_index=True)
    display_number = models.CharField(max_length=32)
    messages_per_second = models.PositiveIntegerField(
        default=80, help_text="Meta's throughput for this number (80 standard, up to 1000)."
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    # Number health pushed by Meta's `phone_number_quality_update` webhook (whatsapp.webhooks):
    # the last event (FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE, ...), the quality it implies and
    # the messaging-limit tier (e.g. TIER_10K). Blank until Meta sends one. The database defaults
    # keep inserts by code that predates these columns working during a deploy.
    quality_rating = models.CharField(max_length=32, blank=True, default="", db_default="")
    quality_event = models.CharField(max_length=32, blank=True, default="", db_default="")
    messaging_limit_tier = models.CharField(max_length=64, blank=True, default="", db_default="")
    health_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_number"]

    def __str__(self) -> str:
        return f"{self.display_number} ({self.phone_number_id})"

    @property
    def display_label(self) -> str:
        """The number as people read it, with one leading "+" ("+1 555-0100"), or "" when
        unknown. `display_number` is stored as it came: Meta's Graph API gives
        `display_phone_number` with a "+", its webhooks' metadata without one.
        https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/
        """
        number = self.display_number.strip().lstrip("+")
        return f"+{number}" if number else ""


class WhatsAppCredential(models.Model):
    """An organization's Meta access token, encrypted at rest (tenants.crypto).

    `encrypted_token` is Fernet ciphertext bound to the org id; the plain token is never stored,
    logged or returned. `fingerprint` (a short hash) lets people tell tokens apart.
    """

    class State(models.TextChoices):
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid (refresh failed; sending halted)"

    organization = models.OneToOneField(
        Organization, to_field="org_id", on_delete=models.CASCADE, related_name="credential"
    )
    encrypted_token = models.TextField()
    fingerprint = models.CharField(max_length=16)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.VALID)
    last_error = models.TextField(blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Token {self.masked} for {self.organization_id}"

    @property
    def masked(self) -> str:
        return f"••••{self.fingerprint[:6]}"


class RawWebhookEvent(models.Model):
    """One signed POST from Meta, stored durably before it is acknowledged.

    The body is kept byte for byte (its hash dedupes Meta's redeliveries of the same POST);
    each change inside it is routed and processed as a WebhookChange.
    """

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        ROUTED = "routed", "Routed"
        MALFORMED = "malformed", "Malformed (kept, not processable)"
        FAILED = "failed", "Routing failed (kept for replay)"

    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64, unique=True)
    headers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deliveries = models.PositiveIntegerField(default=1, help_text="How often Meta posted it")
    # Routing attempts that raised; the worker claims the event again after `next_attempt_at`.
    # (A database default too: web processes of the previous release insert without it.)
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The worker's claim: RECEIVED rows in id order (a partial index stays tiny).
            models.Index(
                fields=["id"],
                name="webhook_event_claim_idx",
                condition=models.Q(state="received"),
            ),
            # The console's event log of events kept unsplit (a small share of all events).
            models.Index(
                fields=["state", "id"],
                name="webhook_event_unsplit_idx",
                condition=models.Q(state__in=["malformed", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"webhook event {self.pk} ({self.state})"


class WebhookChange(models.Model):
    """One `entry[].changes[]` item of a raw event, routed to the tenant that owns its number."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        UNROUTABLE = "unroutable", "Unroutable (no owner; replayable)"
        HELD = "held", "Held (organization suspended)"
        NO_HANDLER = "no_handler", "No handler for this field (replayable)"

    event = models.ForeignKey(RawWebhookEvent, on_delete=models.CASCADE, related_name="changes")
    entry_index = models.PositiveIntegerField()
    change_index = models.PositiveIntegerField()
    field = models.CharField(max_length=64)
    phone_number_id = models.CharField(max_length=64, blank=True, db_index=True)
    waba_id = models.CharField(max_length=64, blank=True, db_index=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "entry_index", "change_index"], name="uniq_webhook_change"
            )
        ]
        indexes = [
            models.Index(fields=["state", "created_at"], name="webhook_change_state_idx"),
            # The worker's claim of due retries.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_change_retry_idx",
                condition=models.Q(state__in=["pending", "failed"]),
            ),
            # The console: an organization's latest changes (its last webhook, its event log).
            models.Index(fields=["organization", "-id"], name="webhook_change_org_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"change {self.event_id}/{self.entry_index}/{self.change_index} ({self.state})"

    @property
    def state_label(self) -> str:
        """The state as the console shows it. A FAILED change says whether the webhook worker
        will try it again by itself ("Failed (will retry)": it claims FAILED changes with fewer
        than WHATSAPP_WEBHOOK_MAX_ATTEMPTS attempts once `next_attempt_at` has passed, see
        whatsapp/webhooks/process.py) or has used up its attempts and waits for a replay."""
        if self.state != self.State.FAILED:
            return self.get_state_display()
        if self.attempts < settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS:
            return "Failed (will retry)"
        return "Failed (retries exhausted; waits for a replay)"


class AccountEvent(models.Model):
    """An account-level webhook change Meta pushed about an organization's WABA, kept for it.

    Written by the gateway's `account_update` and `business_capability_update` handlers
    (whatsapp.webhooks.fields): `event` is Meta's `value.event` when there is one (e.g.
    ACCOUNT_VIOLATION, VOLUME_BASED_PRICING_TIER_UPDATE), `value` the change as sent (cleaned of
    characters PostgreSQL refuses). One row per webhook change (`change_id` unique), so a
    replayed change is not recorded twice.
    https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="account_events"
    )
    change_id = models.BigIntegerField(unique=True)
    field = models.CharField(max_length=64)
    waba_id = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=64, blank=True)
    value = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.field} {self.event or '-'} for {self.organization_id}"


class ApiKey(models.Model):
    """A long-lived credential of one organization for server-to-server API clients.

    The key is shown once at creation (tenants.api_keys.api_key_create); only its SHA-256 is
    stored. A plain hash is enough: the secret is 256 random bits, not a guessable password, so
    a slow hash would only slow every request down. `prefix` is public and identifies the key.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, help_text="SHA-256 hex of the key, never the key")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API key {self.prefix} ({self.name})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Invitation(models.Model):
    """An e-mailed invitation to join an organization with a role.

    The link's token is shown once (in the e-mail); only its SHA-256 is stored. Accepting it
    (tenants.services.team.invitation_accept) creates the membership once; it then stops working.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(
        max_length=16, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization.slug} ({self.role})"


class LoginHandoff(models.Model):
    """A one-time, short-lived ticket that signs a person in on their organization's host after
    they signed in on the public host (a session cookie cannot cross hosts). Only the token's
    SHA-256 is stored; consuming it sets `used_at` in the same UPDATE that checks it."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sign-in handoff {self.pk} to {self.organization_id}"


class BusinessHours(models.Model):
    """One opening interval of an organization on a weekday, in the organization's time zone
    (`Organization.time_zone`). Several rows per day are allowed (a lunch break); no row for a
    day means closed. The chatbot asks tenants.services.schedule.organization_is_open."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="business_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["organization", "weekday", "opens_at"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")),
                name="business_hours_opens_before_closes",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6),
                name="business_hours_weekday_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class PooledSchema(models.Model):
    """A schema cloned from the template ahead of signup, not yet given to an organization.

    Signup claims one (tenants.services.schemas.schema_pool_claim) by renaming it; the beat task
    `schema_pool_refill_task` keeps TENANT_SCHEMA_POOL_SIZE of them.
    """

    schema_name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.schema_name


class SchemaMigrationState(models.Model):
    """Where `migrate_platform` left one tenant schema: done or failed at which target.

    `target` names the set of leaf migrations the run migrated to
    (tenants.services.schema_migrations.migration_target); a row with the current target and
    state DONE is a schema that needs nothing. Written right after the schema's migration
    commits, so an interrupted run shows which schemas it finished.
    """

    class State(models.TextChoices):
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    schema_name = models.CharField(max_length=63, unique=True)
    target = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices)
    error = models.TextField(blank=True)
    applied = models.PositiveIntegerField(default=0, help_text="Migrations applied by that run")
    seconds = models.FloatField(default=0.0)
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return f"{self.schema_name}: {self.state} at {self.target}"


class AuditEntry(models.Model):
    """An administrative action: who did what to which organization, when and why.

    Append-only: saving an existing entry or deleting one raises. It outlives what it is about
    (the user and the organization may be gone), so it keeps their names as text. `action` is a
    dotted verb such as `organization.deletion_requested`; `details` holds its particulars.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, help_text="The actor's email, or 'system'")
    action = models.CharField(max_length=64, db_index=True)
    org_id = models.UUIDField(null=True, blank=True, db_index=True)
    org_slug = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.org_slug}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit entries are append-only")


class OrganizationDeletion(models.Model):
    """An organization's scheduled deletion (tenants.services.offboarding).

    While SCHEDULED the organization is suspended and can download its export; at
    `scheduled_for` its schema, media and public rows are dropped (COMPLETED) unless the deletion
    was CANCELLED. The row outlives the organization (its ids are kept as text).
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="deletions"
    )
    org_id = models.UUIDField(db_index=True)
    org_slug = models.CharField(max_length=40)
    schema_name = models.CharField(max_length=63)
    previous_status = models.CharField(max_length=16)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    scheduled_for = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    export_name = models.CharField(max_length=255, blank=True, help_text="Storage name of the zip")
    export_ready_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_id"],
                condition=models.Q(state="scheduled"),
                name="uniq_scheduled_deletion",
            )
        ]

    def __str__(self) -> str:
        return f"deletion of {self.org_slug} ({self.state}, {self.scheduled_for:%Y-%m-%d})"


class OrganizationSuspension(models.Model):
    """One suspension of an organization by platform staff, kept after it ends (the history).

    Open while `reactivated_at` is empty (at most one per organization). While an organization
    is suspended its API refuses (tenants.access), its webhook changes are held, and its
    reactivation releases them in order (whatsapp/console/services.py).
    """

    class Category(models.TextChoices):
        NON_PAYMENT = "non_payment", "Non-payment"
        ABUSE = "abuse", "Abuse or spam"
        META_POLICY = "meta_policy", "Meta policy violation"
        SECURITY = "security", "Security incident"
        CUSTOMER_REQUEST = "customer_request", "Customer's request"
        OTHER = "other", "Other"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="suspensions"
    )
    category = models.CharField(max_length=32, choices=Category.choices)
    reason = models.TextField()
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(auto_now_add=True)
    reactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reactivated_at = models.DateTimeField(null=True, blank=True)
    reactivation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-suspended_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(reactivated_at__isnull=True),
                name="uniq_open_suspension",
            )
        ]

    def __str__(self) -> str:
        return f"suspension of {self.organization_id} ({self.category})"

    @property
    def is_open(self) -> bool:
        return self.reactivated_at is None
