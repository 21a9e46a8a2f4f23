"""`manage.py merge_contacts --org SLUG --survivor ID --merged ID [--reason TEXT]`: fold one
contact of an organization into another (whatsapp.services.contacts.contact_merge)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.models import Organization
from whatsapp.errors import WhatsAppDomainError
from whatsapp.services.contacts import contact_merge


class Command(BaseCommand):
    help = "Merge contact --merged into contact --survivor in one organization's schema."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--survivor", required=True, type=int, help="contact id that stays")
        parser.add_argument("--merged", required=True, type=int, help="contact id folded in")
        parser.add_argument("--reason", default="merged by an operator")
        parser.add_argument("--actor", default="manage.py merge_contacts")

    def handle(self, *args, **options) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None or organization.is_public:
            raise CommandError(f"no organization with slug '{options['org']}'")
        with schema_context(organization.schema_name):
            try:
                audit = contact_merge(
                    survivor_id=options["survivor"],
                    merged_id=options["merged"],
                    reason=options["reason"],
                    actor=options["actor"],
                )
            except WhatsAppDomainError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Merged contact {audit.merged_contact_id} into {audit.survivor_contact_id} "
                f"({audit.moved_messages} messages moved)"
            )
        )
