from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.errors import OnboardingError
from tenants.models import Organization
from tenants.services.routing import phone_number_connect


class Command(BaseCommand):
    help = "Connect a WhatsApp phone number to an organization and store its access token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--phone-number-id", required=True)
        parser.add_argument("--waba-id", required=True)
        parser.add_argument("--display-number", required=True)
        parser.add_argument("--access-token", help="stored encrypted; never printed")
        parser.add_argument("--messages-per-second", type=int)

    def handle(self, *args, **options) -> None:
        try:
            organization = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist as exc:
            raise CommandError(f"no organization with slug '{options['org']}'") from exc
        try:
            number = phone_number_connect(
                organization=organization,
                phone_number_id=options["phone_number_id"],
                waba_id=options["waba_id"],
                display_number=options["display_number"],
                access_token=options["access_token"],
                messages_per_second=options["messages_per_second"],
            )
        except OnboardingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Connected {number} to {organization.slug}"))
