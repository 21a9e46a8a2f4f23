from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from tenants.services.onboarding import ensure_template_schema, public_tenant_ensure


class Command(BaseCommand):
    help = (
        "Migrate every schema (public, each organization, and the template new organizations "
        "are cloned from) and make sure the public host exists. Safe to run repeatedly."
    )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        call_command("migrate_schemas", interactive=False, verbosity=verbosity)
        if not ensure_template_schema():
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=settings.TENANT_BASE_SCHEMA,
                interactive=False,
                verbosity=verbosity,
            )
            connection.set_schema_to_public()
        public_tenant_ensure()
        self.stdout.write(self.style.SUCCESS("All schemas migrated"))
