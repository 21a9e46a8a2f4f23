from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.errors import OnboardingError
from tenants.services.onboarding import organization_create, tenant_host


class Command(BaseCommand):
    help = "Create an organization: schema, host <slug>.<BASE_DOMAIN> and first admin user."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", required=True)

    def handle(self, *args, **options) -> None:
        try:
            org = organization_create(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
            )
        except OnboardingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {org.name}: org_id={org.org_id} schema={org.schema_name} "
                f"host={tenant_host(org.slug)}"
            )
        )
