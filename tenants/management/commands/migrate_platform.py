from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.services.onboarding import ensure_template_schema, public_tenant_ensure
from tenants.services.schema_migrations import (
    SchemaResult,
    migration_target,
    schema_migrate,
    schema_states_prune,
    schemas_migrate,
    schemas_pending,
    schemas_to_migrate,
    tenant_schemas,
)
from tenants.services.schemas import clone_function_install

MAX_PASSES = 3


class Command(BaseCommand):
    help = (
        "Migrate every schema: public, then the template new organizations are cloned from, "
        "then every organization and pooled schema that is not at the target yet, in parallel "
        "processes. Progress is recorded per schema (tenants.SchemaMigrationState); after a "
        "failure, run it again to migrate what is left. Safe to run repeatedly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--processes",
            type=int,
            default=os.cpu_count() or 1,
            help="Worker processes for the tenant schemas (default: CPU count).",
        )
        parser.add_argument(
            "--batch", type=int, default=10, help="Schemas handed to a worker at a time."
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="Check every schema's django_migrations, even those recorded done.",
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        started = time.perf_counter()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()
        clone_function_install(force=True)  # a new django-tenants may ship a new routine
        ensure_template_schema()
        public_tenant_ensure()
        target = migration_target()

        # The template first and alone: everything cloned from now on starts from it.
        template = settings.TENANT_BASE_SCHEMA
        if schemas_pending(schemas=[template], target=target):
            result = schema_migrate(schema_name=template, digest=target.digest)
            if not result.ok:
                raise CommandError(f"template schema {template} failed: {result.error}")
            self.stdout.write(f"template {template}: {result.applied} migration(s) applied")

        failed: dict[str, SchemaResult] = {}
        migrated = 0
        tenants_started = time.perf_counter()
        for _pass in range(MAX_PASSES):
            # Organizations created (or pool schemas claimed) during a pass are seen by the next.
            schemas = tenant_schemas()
            pending = [
                name
                for name in schemas_to_migrate(
                    schemas=schemas, target=target, verify=options["verify"]
                )
                if name not in failed
            ]
            if verbosity:
                self.stdout.write(
                    f"{len(schemas)} tenant schemas, {len(schemas) - len(pending)} at target "
                    f"{target.digest} (skipped), {len(pending)} to migrate "
                    f"with {options['processes']} process(es)"
                )
            if not pending:
                break
            report = schemas_migrate(
                schemas=pending,
                target=target,
                processes=options["processes"],
                batch=options["batch"],
                on_progress=self._progress(verbosity, time.perf_counter()),
            )
            connection.set_schema_to_public()
            migrated += len(report.migrated)
            failed.update((r.schema_name, r) for r in report.failed)
        schema_states_prune(existing=[template, *tenant_schemas()])
        elapsed = time.perf_counter() - started
        tenants_elapsed = time.perf_counter() - tenants_started
        if failed:
            for result in list(failed.values())[:20]:
                self.stderr.write(f"  {result.schema_name}: {result.error.splitlines()[0]}")
            raise CommandError(
                f"{len(failed)} schema(s) failed ({migrated} migrated) in {elapsed:.1f} s; "
                "see tenants.SchemaMigrationState, fix the cause and run migrate_platform again "
                "(finished schemas are skipped)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"All schemas migrated ({migrated} this run) in {elapsed:.1f} s "
                f"(organization and pooled schemas: {tenants_elapsed:.1f} s)"
            )
        )

    def _progress(self, verbosity: int, started: float):
        def report(done: int, total: int, result: SchemaResult) -> None:
            if not verbosity:
                return
            if result.ok and done % 50 and done != total:
                return
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (total - done)
            status = "" if result.ok else f"  FAILED {result.schema_name}"
            self.stdout.write(
                f"  [{done}/{total}] {100 * done // total}%  {elapsed:.1f} s, "
                f"eta {eta:.0f} s{status}"
            )

        return report
