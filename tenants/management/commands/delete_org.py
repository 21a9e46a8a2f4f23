from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tenants.errors import OffboardingError
from tenants.models import Organization, OrganizationDeletion
from tenants.services.offboarding import (
    organization_delete,
    organization_delete_cancel,
    organization_delete_finish,
    organization_export,
    organization_export_path,
)


class Command(BaseCommand):
    help = (
        "Schedule an organization's deletion (suspended now, export built, everything dropped "
        "after the grace period), cancel it, or finish it now. Each step is audited."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")
        parser.add_argument("--actor", default="", help="Email of the staff user acting.")
        parser.add_argument(
            "--grace-days",
            type=int,
            default=None,
            help=f"Days before the drop (default {settings.TENANT_DELETION_GRACE_DAYS}).",
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--cancel", action="store_true", help="Cancel a scheduled deletion.")
        action.add_argument(
            "--now", action="store_true", help="Export and drop at once (no grace period)."
        )

    def handle(self, *args, **options) -> None:
        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"].lower()).first()
            if actor is None:
                raise CommandError(f"no user {options['actor']}")
        try:
            if options["cancel"]:
                deletion = self._scheduled(options["org"])
                organization_delete_cancel(deletion=deletion, actor=actor, reason=options["reason"])
                self.stdout.write(self.style.SUCCESS(f"Deletion of {deletion.org_slug} cancelled"))
                return
            deletion = OrganizationDeletion.objects.filter(
                org_slug=options["org"], state=OrganizationDeletion.State.SCHEDULED
            ).first()
            if deletion is None:
                organization = Organization.objects.filter(slug=options["org"]).first()
                if organization is None:
                    raise CommandError(f"no organization '{options['org']}'")
                deletion = organization_delete(
                    organization=organization,
                    actor=actor,
                    reason=options["reason"],
                    grace_days=0 if options["now"] else options["grace_days"],
                )
            elif not options["now"]:
                raise CommandError(f"the deletion of '{options['org']}' is already scheduled")
            if options["now"]:
                organization_export(deletion_id=deletion.pk)
                organization_delete_finish(deletion=deletion, actor=actor)
                self.stdout.write(self.style.SUCCESS(f"Deleted {deletion.org_slug}"))
                return
        except OffboardingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Deletion of {deletion.org_slug} scheduled for "
                f"{deletion.scheduled_for:%Y-%m-%d %H:%M} UTC; export (once built): "
                f"http://{settings.BASE_DOMAIN}{organization_export_path(deletion=deletion)}"
            )
        )

    def _scheduled(self, slug: str) -> OrganizationDeletion:
        deletion = OrganizationDeletion.objects.filter(
            org_slug=slug, state=OrganizationDeletion.State.SCHEDULED
        ).first()
        if deletion is None:
            raise CommandError(f"no scheduled deletion of '{slug}'")
        return deletion
