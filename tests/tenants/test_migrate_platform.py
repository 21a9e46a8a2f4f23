"""`migrate_platform`: parallel, skips schemas at the target, records progress, resumes.

A pending migration is made real by deleting the record of the `tenants` app's last migration
from tenant schemas (that app is shared, so in a tenant schema applying it only records it:
the same path as any migration, without DDL). A schema is made to fail in the middle with a
CHECK constraint on its `django_migrations` that refuses that record, so its migration's
transaction rolls back like any failing migration.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.models import Organization, SchemaMigrationState
from tenants.services.onboarding import organization_create
from tenants.services.schema_migrations import (
    SchemaMigrator,
    migration_target,
    schemas_migrate,
    schemas_pending,
    tenant_schemas,
)

SLUGS = ("mig-one", "mig-two", "mig-three")
TEMPLATE = "tenant_template"


@pytest.fixture
def orgs(live_db) -> Iterator[list[Organization]]:
    created = [
        organization_create(
            slug=slug, name=slug, admin_email=f"admin@{slug}.test", admin_password="s3cret-pass-99"
        )
        for slug in SLUGS
    ]
    yield created
    connection.set_schema_to_public()
    for org in created:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{org.schema_name}" CASCADE')
        org.domains.all().delete()
        org.memberships.all().delete()
        Organization.objects.filter(pk=org.pk).delete()
    SchemaMigrationState.objects.filter(schema_name__startswith="org_mig_").delete()


def tenants_leaf() -> tuple[str, str]:
    leaf = next(leaf for leaf in migration_target().leaves if leaf.startswith("tenants."))
    app, name = leaf.split(".", 1)
    return app, name


def unrecord(schema: str) -> None:
    app, name = tenants_leaf()
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name]
        )


def recorded(schema: str) -> bool:
    app, name = tenants_leaf()
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name]
        )
        return cursor.fetchone() is not None


def test_pending_schemas_are_found_in_one_pass_and_the_rest_skipped(orgs) -> None:
    target = migration_target()
    schemas = tenant_schemas()
    assert schemas[0] == TEMPLATE
    assert {org.schema_name for org in orgs} <= set(schemas)
    assert schemas_pending(schemas=schemas, target=target) == []
    unrecord(orgs[1].schema_name)
    assert schemas_pending(schemas=schemas, target=target) == [orgs[1].schema_name]


def test_parallel_run_migrates_template_and_organizations(orgs, capsys) -> None:
    for schema in [TEMPLATE, *(org.schema_name for org in orgs)]:
        unrecord(schema)
    call_command("migrate_platform", processes=2, batch=1)
    out = capsys.readouterr().out
    assert "3 to migrate with 2 process(es)" in out
    assert "[3/3] 100%" in out
    for schema in [TEMPLATE, *(org.schema_name for org in orgs)]:
        assert recorded(schema), schema
    target = migration_target()
    states = SchemaMigrationState.objects.filter(schema_name__in=[o.schema_name for o in orgs])
    assert {(s.state, s.target, s.applied) for s in states} == {("done", target.digest, 1)}

    call_command("migrate_platform", processes=2)
    assert "0 to migrate" in capsys.readouterr().out


def test_workers_are_fresh_interpreters_on_this_test_database(orgs, monkeypatch) -> None:
    """Nothing of this process's memory reaches the workers (a forked worker would inherit
    this patch, and any lock a thread of this process holds at that moment): they set Django
    up themselves and still work on this run's test database."""

    def inherited(self, schema_name: str) -> int:
        raise RuntimeError("a worker ran with the parent's memory")

    monkeypatch.setattr(SchemaMigrator, "migrate", inherited)
    schemas = [org.schema_name for org in orgs]
    for schema in schemas:
        unrecord(schema)
    report = schemas_migrate(schemas=schemas, target=migration_target(), processes=2, batch=1)
    assert report.failed == []
    assert sorted(r.schema_name for r in report.migrated) == sorted(schemas)
    assert all(recorded(schema) for schema in schemas)


def test_a_failure_in_the_middle_is_recorded_and_a_second_run_resumes(orgs, capsys) -> None:
    one, two, three = (org.schema_name for org in orgs)
    app, name = tenants_leaf()
    for schema in (one, two, three):
        unrecord(schema)
    with connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE "{two}".django_migrations ADD CONSTRAINT refuse_leaf '
            f"CHECK (NOT (app = '{app}' AND name = '{name}'))"
        )

    with pytest.raises(CommandError, match="1 schema\\(s\\) failed \\(2 migrated\\)"):
        call_command("migrate_platform", processes=1)
    assert "refuse_leaf" in capsys.readouterr().err
    rows = SchemaMigrationState.objects.filter(schema_name__in=[one, two, three])
    states = {s.schema_name: s for s in rows}
    assert states[one].state == states[three].state == "done"
    assert states[two].state == "failed"
    assert "refuse_leaf" in states[two].error
    assert recorded(one) and recorded(three) and not recorded(two)
    finished_one = states[one].finished_at

    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{two}".django_migrations DROP CONSTRAINT refuse_leaf')
    call_command("migrate_platform", processes=1)
    assert "1 to migrate" in capsys.readouterr().out
    assert recorded(two)
    assert SchemaMigrationState.objects.get(schema_name=two).state == "done"
    # The schemas finished by the first run were skipped, not migrated again.
    assert SchemaMigrationState.objects.get(schema_name=one).finished_at == finished_one


def test_schemas_recorded_done_are_skipped_unless_verify(orgs, capsys) -> None:
    call_command("migrate_platform", processes=1)  # records every schema found at the target
    target = migration_target()
    assert SchemaMigrationState.objects.get(schema_name=orgs[0].schema_name).target == (
        target.digest
    )
    unrecord(orgs[0].schema_name)  # behind the progress table's back

    call_command("migrate_platform", processes=1)
    assert "0 to migrate" in capsys.readouterr().out
    assert not recorded(orgs[0].schema_name)

    call_command("migrate_platform", processes=1, verify=True)
    assert "1 to migrate" in capsys.readouterr().out
    assert recorded(orgs[0].schema_name)
