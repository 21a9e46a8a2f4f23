"""`manage.py replay_webhooks [--state unroutable|failed|held|pending|no_handler] [--event ID]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.models import RawWebhookEvent
from whatsapp.webhooks.replay import REPLAYABLE_STATES, webhook_replay


class Command(BaseCommand):
    help = (
        "Route again and queue stored webhook changes for the webhook worker: unroutable ones "
        "(after the number was connected), held ones (after the organization was reactivated), "
        "failed ones, and no_handler ones (after a handler was registered); events whose "
        "routing failed are queued again too. Processing is idempotent, so replaying is safe."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--state",
            action="append",
            choices=list(REPLAYABLE_STATES),
            help="only changes in this state (repeatable; default: all replayable states)",
        )
        parser.add_argument("--event", type=int, help="only the changes of this raw event id")

    def handle(self, *args, **options) -> None:
        event_id = options["event"]
        if event_id is not None and not RawWebhookEvent.objects.filter(pk=event_id).exists():
            raise CommandError(f"no webhook event with id {event_id}")
        states = options["state"] or list(REPLAYABLE_STATES)
        result = webhook_replay(states=states, event_id=event_id)
        self.stdout.write(
            self.style.SUCCESS(
                f"events queued: {result.events_requeued}, changes queued: {result.requeued}, "
                f"still unroutable: {result.still_unroutable}, still held: {result.still_held}"
            )
        )
