"""Deleting an organization: export first, a grace period, then nothing of it is left.

1. `organization_delete` (console, `manage.py delete_org`) schedules the deletion
   `TENANT_DELETION_GRACE_DAYS` ahead, suspends the organization (its API and webhooks stop, see
   `tenants.access`) and enqueues the export (`organization_export_task`).
2. `organization_export` writes one zip to storage: every table of the organization's schema as
   JSON lines (`tables/<table>.jsonl`: contacts, messages, media rows, ... one object per row)
   and every file of its storage path (`files/...`: media). Its signed link
   (`organization_export_path`) works while the deletion is scheduled.
3. `organization_delete_cancel` restores the organization during the grace period.
4. `organization_delete_finish` (beat: `organization_deletions_due_task`, or `delete_org --now`)
   drops the schema, deletes the storage path `tenants/<org_id>/` (media and the export), the
   routing rows (phone numbers), webhook changes and raw events that were only about it, API
   keys, credential, domains, memberships, users who belonged to it alone, and the organization
   row. Every step is in the audit log (tenants.AuditEntry).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from saas_platform.queue import enqueue_on_commit
from tenants.errors import OffboardingError
from tenants.models import (
    Organization,
    OrganizationDeletion,
    PhoneNumber,
    RawWebhookEvent,
    SchemaMigrationState,
    WebhookChange,
)
from tenants.services.audit import audit_record

logger = logging.getLogger(__name__)

EXPORT_SALT = "tenants.offboarding.export"
EXPORT_TASK = "tenants.tasks.organization_export_task"


def organization_storage_prefix(org_id: object) -> str:
    """Every file of an organization lives under this storage path (media: whatsapp.models)."""
    return f"tenants/{org_id}"


@transaction.atomic
def organization_delete(
    *, organization: Organization, actor: Any | None, reason: str, grace_days: int | None = None
) -> OrganizationDeletion:
    """Schedule the deletion of `organization` in `grace_days` (default
    TENANT_DELETION_GRACE_DAYS), suspend it and enqueue its export.

    Raises OffboardingError for the public schema's row or when a deletion is already scheduled.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.is_public:
        raise OffboardingError("the platform's own schema cannot be deleted")
    if OrganizationDeletion.objects.filter(
        org_id=organization.org_id, state=OrganizationDeletion.State.SCHEDULED
    ).exists():
        raise OffboardingError(f"the deletion of '{organization.slug}' is already scheduled")
    days = settings.TENANT_DELETION_GRACE_DAYS if grace_days is None else grace_days
    if days < 0:
        raise OffboardingError("the grace period cannot be negative")
    deletion = OrganizationDeletion.objects.create(
        organization=organization,
        org_id=organization.org_id,
        org_slug=organization.slug,
        schema_name=organization.schema_name,
        previous_status=organization.status,
        requested_by=actor,
        reason=reason,
        scheduled_for=timezone.now() + timedelta(days=days),
    )
    organization.status = Organization.Status.SUSPENDED
    organization.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="organization.deletion_requested",
        organization=organization,
        reason=reason,
        details={"deletion_id": deletion.pk, "scheduled_for": deletion.scheduled_for.isoformat()},
    )
    enqueue_on_commit(EXPORT_TASK, args=[deletion.pk])
    return deletion


@transaction.atomic
def organization_delete_cancel(
    *, deletion: OrganizationDeletion, actor: Any | None, reason: str
) -> OrganizationDeletion:
    """Cancel a scheduled deletion: the organization gets its previous status back and its
    export is deleted. Raises OffboardingError when the deletion is no longer scheduled."""
    deletion = OrganizationDeletion.objects.select_for_update().get(pk=deletion.pk)
    if deletion.state != OrganizationDeletion.State.SCHEDULED or deletion.organization is None:
        raise OffboardingError(f"the deletion of '{deletion.org_slug}' is {deletion.state}")
    organization = deletion.organization
    organization.status = deletion.previous_status
    organization.save(update_fields=["status"])
    if deletion.export_name:
        default_storage.delete(deletion.export_name)
    deletion.state = OrganizationDeletion.State.CANCELLED
    deletion.finished_at = timezone.now()
    deletion.save(update_fields=["state", "finished_at"])
    audit_record(
        actor=actor,
        action="organization.deletion_cancelled",
        organization=organization,
        reason=reason,
        details={"deletion_id": deletion.pk},
    )
    return deletion


def _storage_files(prefix: str) -> list[str]:
    """Every file name under `prefix` in the default storage (recursively)."""
    try:
        directories, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    names = [f"{prefix}/{name}" for name in files]
    for directory in directories:
        names += _storage_files(f"{prefix}/{directory}")
    return names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_tables(archive: zipfile.ZipFile, schema: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s "
            "AND tablename <> 'django_migrations' ORDER BY tablename",
            [schema],
        )
        tables = [row[0] for row in cursor.fetchall()]
    for table in tables:
        rows = 0
        # A server-side cursor: a table of millions of rows is streamed, not loaded.
        with (
            transaction.atomic(),
            connection.connection.cursor(name=f"export_{table}") as cursor,
            archive.open(f"tables/{table}.jsonl", "w") as out,
        ):
            cursor.itersize = 2000
            cursor.execute(
                f"SELECT row_to_json(t)::text FROM {_quote(schema)}.{_quote(table)} t"  # noqa: S608
            )
            for (line,) in cursor:
                out.write(line.encode() + b"\n")
                rows += 1
        counts[table] = rows
    return counts


def organization_export(*, deletion_id: int) -> OrganizationDeletion:
    """Write the organization's export zip to storage (under its own storage path, so it is
    deleted with it) and record it on the deletion. Idempotent: a ready export is kept.

    Raises OffboardingError when the deletion is no longer scheduled.
    """
    deletion = OrganizationDeletion.objects.get(pk=deletion_id)
    if deletion.state != OrganizationDeletion.State.SCHEDULED:
        raise OffboardingError(f"the deletion of '{deletion.org_slug}' is {deletion.state}")
    if deletion.export_name and default_storage.exists(deletion.export_name):
        return deletion
    prefix = organization_storage_prefix(deletion.org_id)
    export_prefix = f"{prefix}/export"
    files = [name for name in _storage_files(prefix) if not name.startswith(export_prefix + "/")]
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            counts = _write_tables(archive, deletion.schema_name)
            for name in files:
                with (
                    default_storage.open(name) as source,
                    archive.open("files/" + name[len(prefix) + 1 :], "w") as out,
                ):
                    shutil.copyfileobj(source, out)
        spool.seek(0)
        stamp = timezone.now().strftime("%Y%m%d%H%M%S")
        saved = default_storage.save(
            f"{export_prefix}/{deletion.org_slug}-{stamp}.zip", File(spool)
        )
    connection.set_schema_to_public()
    deletion.export_name = saved
    deletion.export_ready_at = timezone.now()
    deletion.save(update_fields=["export_name", "export_ready_at"])
    audit_record(
        actor=None,
        action="organization.export_ready",
        organization=deletion.organization,
        details={"deletion_id": deletion.pk, "rows": counts, "files": len(files)},
    )
    return deletion


def organization_export_path(*, deletion: OrganizationDeletion) -> str:
    """The public host's download path of the export, signed; valid while the deletion is
    scheduled and the export ready (tenants.portal.views.export_download)."""
    token = signing.dumps(deletion.pk, salt=EXPORT_SALT)
    return f"/offboarding/export/{token}/"


def organization_export_for_token(*, token: str) -> OrganizationDeletion:
    """The deletion whose export `token` opens. Raises OffboardingError for a bad or forged
    token, a deletion no longer scheduled, or an export not ready yet."""
    try:
        deletion_id = signing.loads(token, salt=EXPORT_SALT)
    except signing.BadSignature as exc:
        raise OffboardingError("this link is not valid") from exc
    deletion = OrganizationDeletion.objects.filter(pk=deletion_id).first()
    if deletion is None or deletion.state != OrganizationDeletion.State.SCHEDULED:
        raise OffboardingError("this export is no longer available")
    if not deletion.export_name or not default_storage.exists(deletion.export_name):
        raise OffboardingError("the export is not ready yet")
    return deletion


def _storage_delete(prefix: str) -> int:
    files = _storage_files(prefix)
    for name in files:
        default_storage.delete(name)
    # A filesystem: the (now empty) directories too; object storage has none (path() raises).
    with contextlib.suppress(NotImplementedError):
        shutil.rmtree(default_storage.path(prefix), ignore_errors=True)
    return len(files)


@transaction.atomic
def organization_delete_finish(
    *, deletion: OrganizationDeletion, actor: Any | None = None
) -> OrganizationDeletion:
    """Drop everything of the organization (module docstring, step 4) and complete the deletion.

    Builds the export first if it is missing. Raises OffboardingError when the deletion is not
    scheduled. Does not check `scheduled_for` (the caller decides it is due).
    """
    deletion = OrganizationDeletion.objects.select_for_update().get(pk=deletion.pk)
    if deletion.state != OrganizationDeletion.State.SCHEDULED:
        raise OffboardingError(f"the deletion of '{deletion.org_slug}' is {deletion.state}")
    if not deletion.export_name:
        deletion = organization_export(deletion_id=deletion.pk)
    organization = Organization.objects.select_for_update().get(org_id=deletion.org_id)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(deletion.schema_name)} CASCADE")
    files = _storage_delete(organization_storage_prefix(deletion.org_id))
    changes = WebhookChange.objects.filter(organization=organization)
    event_ids = set(changes.values_list("event_id", flat=True))
    deleted_changes, _ = changes.delete()
    # Raw events that were only about this organization (their body is its data).
    deleted_events, _ = (
        RawWebhookEvent.objects.filter(pk__in=event_ids).filter(changes__isnull=True).delete()
    )
    numbers, _ = PhoneNumber.objects.filter(organization=organization).delete()
    user_model = get_user_model()
    sole_members = list(
        user_model.objects.filter(memberships__organization=organization, is_staff=False)
        .exclude(memberships__organization__in=Organization.objects.exclude(pk=organization.pk))
        .values_list("pk", flat=True)
    )
    SchemaMigrationState.objects.filter(schema_name=deletion.schema_name).delete()
    # Domains, memberships, API keys, the credential and account events cascade.
    organization.delete(force_drop=False)
    users, _ = user_model.objects.filter(pk__in=sole_members).delete()
    deletion.state = OrganizationDeletion.State.COMPLETED
    deletion.finished_at = timezone.now()
    deletion.export_name = ""
    deletion.save(update_fields=["state", "finished_at", "export_name"])
    audit_record(
        actor=actor,
        action="organization.deleted",
        organization=organization,
        reason=deletion.reason,
        details={
            "deletion_id": deletion.pk,
            "schema": deletion.schema_name,
            "files": files,
            "webhook_changes": deleted_changes,
            "raw_events": deleted_events,
            "phone_numbers": numbers,
            "users": users,
        },
    )
    logger.info("organization deleted: slug=%s org_id=%s", deletion.org_slug, deletion.org_id)
    return deletion


def organization_deletions_due() -> list[int]:
    """Ids of scheduled deletions whose grace period is over."""
    return list(
        OrganizationDeletion.objects.filter(
            state=OrganizationDeletion.State.SCHEDULED, scheduled_for__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
