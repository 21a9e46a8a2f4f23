"""Onboarding creates a working organization; data of org A is invisible from org B."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import URLResolver, get_resolver
from django_tenants.utils import schema_context, schema_exists

from tenants.errors import OnboardingError
from tenants.models import Domain, Membership, Organization
from tenants.services.onboarding import RESERVED_SLUGS, organization_create
from tests.conftest import in_tenant
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def test_organization_create_makes_schema_host_and_admin() -> None:
    org = organization_create(
        slug="gamma-co",
        name="Gamma",
        admin_email="Boss@Gamma.test",
        admin_password="s3cret-pass-99",
    )
    assert org.schema_name == "org_gamma_co"
    assert schema_exists("org_gamma_co")
    assert Domain.objects.get(tenant=org).domain == "gamma-co.localhost"
    membership = Membership.objects.get(organization=org)
    assert membership.user.username == "boss@gamma.test"
    assert membership.role == Membership.Role.ADMIN
    with schema_context(org.schema_name):
        Contact.objects.create(wa_id="15550001111", name="Ana")
        assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Bad_Slug", "lowercase"),
        ("ab", "3-40"),
        ("public", "reserved"),
        ("new", "reserved"),
        ("www", "reserved"),
        ("alpha", "already exists"),
    ],
)
def test_organization_create_refuses_bad_slugs(org_a, slug: str, message: str) -> None:
    with pytest.raises(OnboardingError, match=message):
        organization_create(
            slug=slug, name="X", admin_email="x@x.test", admin_password="s3cret-pass-99"
        )


def test_organization_create_refuses_weak_password() -> None:
    with pytest.raises(OnboardingError):
        organization_create(slug="weak-co", name="W", admin_email="w@w.test", admin_password="123")
    assert not Organization.objects.filter(slug="weak-co").exists()


def test_create_org_command() -> None:
    call_command(
        "create_org",
        slug="delta",
        name="Delta",
        admin_email="a@delta.test",
        admin_password="s3cret-pass-99",
    )
    assert Organization.objects.get(slug="delta").schema_name == "org_delta"
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_org", slug="delta", name="D", admin_email="b@d.test", admin_password="x"
        )


def test_tenant_data_is_invisible_from_another_tenant(org_a, org_b) -> None:
    with in_tenant(org_a):
        Contact.objects.create(wa_id="15550002222", name="Only in A")
    with in_tenant(org_b):
        assert not Contact.objects.filter(wa_id="15550002222").exists()
        with connection.cursor() as cursor:
            # The unqualified table name resolves to B's own schema, never A's.
            cursor.execute("SELECT count(*) FROM whatsapp_contact WHERE wa_id = '15550002222'")
            assert cursor.fetchone()[0] == 0
    with in_tenant(org_a):
        assert Contact.objects.filter(wa_id="15550002222").count() == 1


def test_cloned_schema_matches_migrated_template(org_a) -> None:
    """A clone has every table of the template and records its migrations as applied."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, count(*) FROM pg_tables WHERE schemaname IN (%s, %s) "
            "GROUP BY schemaname",
            ["tenant_template", org_a.schema],
        )
        counts = dict(cursor.fetchall())
        cursor.execute(f'SELECT count(*) FROM "{org_a.schema}".django_migrations')
        applied = cursor.fetchone()[0]
    assert counts[org_a.schema] == counts["tenant_template"]
    assert applied > 0


def test_media_paths_carry_the_org_id_however_the_tenant_was_entered(org_a) -> None:
    from django.core.files.base import ContentFile

    from whatsapp.models import WhatsAppMedia

    with in_tenant(org_a):  # a bare schema_context: no tenant row on the connection
        media = WhatsAppMedia(mime_type="audio/ogg; codecs=opus")
        media.file.save("../../etc/passwd", ContentFile(b"OggS"), save=False)
    assert media.file.name.startswith(f"tenants/{org_a.org_id}/media/")
    assert media.file.name.endswith(".ogg")
    assert "passwd" not in media.file.name


def test_text_search_index_is_in_every_tenant_and_serves_the_api_query(org_a) -> None:
    """The trigram index (migration 0004, written in SQL) reaches cloned schemas and is the
    one PostgreSQL can use for the API's `q` filter (icontains)."""
    from whatsapp.models import WhatsAppMessage

    with in_tenant(org_a), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL build has no pg_trgm (the migration skips the index)")
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            [org_a.schema, "msg_text_trgm_idx"],
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = WhatsAppMessage.objects.filter(text__icontains="refund").order_by().explain()
    assert "msg_text_trgm_idx" in plan


def test_every_fixed_url_segment_beside_a_slug_is_reserved() -> None:
    """Where a URL takes an organization's slug (`/console/tenants/<slug>/`), a fixed segment
    at the same place (`/console/tenants/new/`) would hide the organization of that slug: each
    such segment, in the public host's URLs and the organization host's, is a reserved slug."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            else:
                routes.append(route)

    for urlconf in (settings.PUBLIC_SCHEMA_URLCONF, settings.ROOT_URLCONF):
        walk(get_resolver(urlconf).url_patterns, "")
    slug_parents = {route.split("<slug:slug>")[0] for route in routes if "<slug:slug>" in route}
    assert "console/tenants/" in slug_parents
    beside = {
        route[len(parent) :].split("/")[0]
        for parent in slug_parents
        for route in routes
        if route.startswith(parent) and not route[len(parent) :].startswith("<")
    }
    assert "new" in beside
    assert beside - {""} <= RESERVED_SLUGS
