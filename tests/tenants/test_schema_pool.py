"""Signup claims a schema cloned ahead (the pool); a rolled-back signup gives it back."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from tenants.models import PooledSchema
from tenants.services.onboarding import organization_create
from tenants.services.schemas import schema_pool_fill, schema_pool_refill
from tests.conftest import in_tenant
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-pass-99"


def test_fill_clones_the_template_into_pooled_schemas_with_its_migrations() -> None:
    names = schema_pool_fill(count=2)
    assert len(names) == 2
    for name in names:
        assert PooledSchema.objects.filter(schema_name=name).exists()
        assert schema_exists(name)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{name}".django_migrations')
            cloned = cursor.fetchone()[0]
            cursor.execute('SELECT count(*) FROM "tenant_template".django_migrations')
            assert cloned == cursor.fetchone()[0] > 0


def test_signup_renames_a_pooled_schema_instead_of_cloning() -> None:
    pooled = schema_pool_fill(count=1)[0]
    before = set(PooledSchema.objects.values_list("schema_name", flat=True))
    org = organization_create(
        slug="pooled-co", name="Pooled", admin_email="p@pooled.test", admin_password=PASSWORD
    )
    after = set(PooledSchema.objects.values_list("schema_name", flat=True))
    claimed = before - after
    assert len(claimed) == 1  # the oldest pooled schema, maybe an earlier test's
    assert pooled in before
    assert not schema_exists(claimed.pop())
    assert schema_exists(org.schema_name)
    with schema_context(org.schema_name):
        Contact.objects.create(wa_id="15550001111", name="Ana")
        assert Contact.objects.count() == 1


def test_signup_with_an_empty_pool_clones_one_on_its_own_session() -> None:
    PooledSchema.objects.all().delete()  # rows only: the test transaction rolls this back
    org = organization_create(
        slug="no-pool-co", name="NoPool", admin_email="n@nopool.test", admin_password=PASSWORD
    )
    assert schema_exists(org.schema_name)
    assert not PooledSchema.objects.exists()


def test_a_rolled_back_signup_leaves_its_schema_in_the_pool() -> None:
    pooled = schema_pool_fill(count=1)[0]
    PooledSchema.objects.exclude(schema_name=pooled).delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        organization_create(
            slug="rolled-co", name="Rolled", admin_email="r@rolled.test", admin_password=PASSWORD
        )
        assert not schema_exists(pooled)
        raise RuntimeError("signup failed after the claim")
    assert PooledSchema.objects.filter(schema_name=pooled).exists()
    assert schema_exists(pooled)
    assert not schema_exists("org_rolled_co")


def test_refill_tops_the_pool_up_to_its_size(settings) -> None:
    settings.TENANT_SCHEMA_POOL_SIZE = PooledSchema.objects.count() + 2
    assert schema_pool_refill() == 2
    assert PooledSchema.objects.count() == settings.TENANT_SCHEMA_POOL_SIZE
    assert schema_pool_refill() == 0


def test_a_new_organization_sees_nothing_of_another_one(org_a) -> None:
    """Clones copy the template's rows: another tenant's data must never reach a new schema."""
    with in_tenant(org_a):
        Contact.objects.create(wa_id="15550009999", name="Only in A")
    schema_pool_fill(count=1)
    org = organization_create(
        slug="fresh-co", name="Fresh", admin_email="f@fresh.test", admin_password=PASSWORD
    )
    with schema_context(org.schema_name):
        assert Contact.objects.count() == 0
    with schema_context("tenant_template"):
        assert Contact.objects.count() == 0


def _structure(schema: str) -> dict[str, set]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, is_identity, "
            "replace(coalesce(column_default, ''), %s, '') FROM information_schema.columns "
            "WHERE table_schema = %s",
            [schema, schema],
        )
        columns = set(cursor.fetchall())
        cursor.execute(
            "SELECT replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s",
            [schema, schema],
        )
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT conname, contype, replace(pg_get_constraintdef(c.oid), %s, 'S') "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s",
            [schema, schema],
        )
        constraints = set(cursor.fetchall())
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def test_a_pooled_schema_has_exactly_the_template_structure() -> None:
    """Tables, columns, defaults, identities, indexes and constraints, names aside."""
    pooled = schema_pool_fill(count=1)[0]
    template = _structure("tenant_template")
    assert template["columns"] and template["indexes"] and template["constraints"]
    assert _structure(pooled) == template
