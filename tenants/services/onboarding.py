"""Creating organizations end to end: the one path used by the portal, console and CLI."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from tenants.errors import OnboardingError
from tenants.models import Domain, Membership, Organization
from tenants.services.limits import organization_created_hooks_run
from tenants.services.schemas import clone_function_install, schema_pool_claim

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
# Slugs that would collide with the platform's own names: hosts (`<slug>.<BASE_DOMAIN>`, e.g.
# www, api, admin), schemas (public) and fixed URL segments where a slug also goes (`new` in
# /console/tenants/new/ next to /console/tenants/<slug>/; tests check every such segment is here).
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "admin",
        "api",
        "app",
        "console",
        "static",
        "media",
        "webhooks",
        "mail",
        "new",
        "edit",
        "delete",
        "login",
        "logout",
        "signup",
        "billing",
        "metrics",
        "health",
        "status",
        "docs",
        "help",
        "support",
        "sandbox",
    }
)


def schema_name_for(slug: str) -> str:
    return "org_" + slug.replace("-", "_")


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def validate_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug):
        raise OnboardingError(
            "slug must be 3-40 characters of lowercase letters, digits and hyphens, "
            "starting with a letter"
        )
    if slug in RESERVED_SLUGS:
        raise OnboardingError(
            f"the address '{slug}' is reserved for the platform's own pages; choose another"
        )


@transaction.atomic
def organization_create(
    *, slug: str, name: str, admin_email: str, admin_password: str
) -> Organization:
    """Create an organization: its schema (cloned from the template), host and first admin.

    An existing user with that email becomes the admin without their password changing.
    Raises OnboardingError for bad input or a taken slug; nothing is left half-made.
    """
    validate_slug(slug)
    if not name.strip():
        raise OnboardingError("name must not be empty")
    if Organization.objects.filter(slug=slug).exists():
        raise OnboardingError(f"an organization with slug '{slug}' already exists")

    user_model = get_user_model()
    email = user_model.objects.normalize_email(admin_email).lower()
    user = user_model.objects.filter(username=email).first()
    if user is None:
        try:
            validate_password(admin_password)
        except ValidationError as exc:
            raise OnboardingError("; ".join(exc.messages)) from exc
        user = user_model.objects.create_user(username=email, email=email, password=admin_password)

    ensure_template_schema()
    organization = Organization(schema_name=schema_name_for(slug), slug=slug, name=name.strip())
    if settings.TENANT_CREATION_FAKES_MIGRATIONS:
        # A clone made ahead (or now, on its own session) is renamed in this transaction:
        # the cost does not grow with this connection's history (tenants.services.schemas).
        schema_pool_claim(schema_name=organization.schema_name)
        organization.auto_create_schema = False
    organization.save(verbosity=0)
    Domain.objects.create(domain=tenant_host(slug), tenant=organization, is_primary=True)
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.ADMIN)
    organization_created_hooks_run(organization=organization)  # billing: the trial
    logger.info("organization created: slug=%s org_id=%s", slug, organization.org_id)
    return organization


def ensure_template_schema() -> bool:
    """Create the migrated template schema new organizations are cloned from, if missing.

    Returns True when it was created (and installs the clone routine then). `migrate_platform`
    also migrates it on every deploy so clones are never behind.
    """
    template = settings.TENANT_BASE_SCHEMA
    if not settings.TENANT_CREATION_FAKES_MIGRATIONS or schema_exists(template):
        return False
    clone_function_install(force=True)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{template}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()
    return True


@transaction.atomic
def public_tenant_ensure() -> Organization:
    """The public schema's own tenant row and hosts (BASE_DOMAIN and PUBLIC_EXTRA_HOSTS)."""
    public, _ = Organization.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"slug": "public", "name": "Platform"},
    )
    hosts = [settings.BASE_DOMAIN, *settings.PUBLIC_EXTRA_HOSTS]
    for index, host in enumerate(hosts):
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": public, "is_primary": index == 0}
        )
    return public
