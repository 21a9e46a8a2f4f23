from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange
from tenants.services.onboarding import organization_create
from tenants.services.routing import phone_number_connect
from tenants.services.staff_otp import staff_totp_device, totp_secret

DEMO_SLUG = "demo"
DEMO_ADMIN = ("demo@example.com", "demo-password-123")
STAFF = ("staff@example.com", "staff-password-123")
# Any digits work in the sandbox; the token is the sandbox's, not a Meta secret.
DEMO_NUMBER = {
    "phone_number_id": "100000000000001",
    "waba_id": "200000000000001",
    "display_number": "+15550000001",
    "access_token": "EAA-sandbox-demo-token",
}
# The demo staff user's console second factor: a public secret, like the demo passwords
# (DEBUG only). `make run` prints it; `manage.py console_totp --email ... --code` shows a code.
STAFF_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"


class Command(BaseCommand):
    help = "Create the demo organization, its sandbox number and a staff user (idempotent)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with public passwords: DEBUG only")
        organization = Organization.objects.filter(slug=DEMO_SLUG).first()
        if organization is None:
            organization = organization_create(
                slug=DEMO_SLUG,
                name="Demo Organization",
                admin_email=DEMO_ADMIN[0],
                admin_password=DEMO_ADMIN[1],
            )
        if not PhoneNumber.objects.filter(phone_number_id=DEMO_NUMBER["phone_number_id"]).exists():
            phone_number_connect(organization=organization, **DEMO_NUMBER)
        user_model = get_user_model()
        if not user_model.objects.filter(username=STAFF[0]).exists():
            user_model.objects.create_superuser(
                username=STAFF[0], email=STAFF[0], password=STAFF[1]
            )
        device = staff_totp_device(
            user=user_model.objects.get(username=STAFF[0]), key_hex=STAFF_TOTP_KEY_HEX
        )
        self.stdout.write(f"Staff console TOTP secret: {totp_secret(device)}")
        self.stdout.write(f"Staff console TOTP URL:    {device.config_url}")
        _console_examples(organization)
        self.stdout.write(self.style.SUCCESS("Demo organization ready"))


# A number nobody has connected (its webhooks are unroutable until someone does).
UNKNOWN_NUMBER = ("100000000000999", "200000000000999")


def _message_change(phone_number_id: str, waba_id: str, n: int) -> tuple[bytes, dict]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Sam Example"}, "wa_id": "15557770000"}],
        "messages": [
            {
                "from": "15557770000",
                "id": f"wamid.demo-console-{phone_number_id}-{n}",
                "timestamp": "1764374400",
                "type": "text",
                "text": {"body": f"Demo message {n} for the console's event log"},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, separators=(",", ":")).encode(), value


def _console_examples(organization: Organization) -> None:
    """Failed and unroutable webhook changes, so the console's event log and tenant page have
    something to show (once; the body hash makes it idempotent). The failed ones carry a
    valid message: replaying them from the console applies them."""
    examples = [
        (DEMO_NUMBER["phone_number_id"], DEMO_NUMBER["waba_id"], organization, "failed"),
        (DEMO_NUMBER["phone_number_id"], DEMO_NUMBER["waba_id"], organization, "failed"),
        (*UNKNOWN_NUMBER, None, "unroutable"),
        (*UNKNOWN_NUMBER, None, "unroutable"),
    ]
    for n, (phone_number_id, waba_id, owner, state) in enumerate(examples, start=1):
        body, value = _message_change(phone_number_id, waba_id, n)
        event, created = RawWebhookEvent.objects.get_or_create(
            body_sha256=hashlib.sha256(body).hexdigest(),
            defaults={"body": body, "state": RawWebhookEvent.State.ROUTED},
        )
        if not created:
            continue
        failed = state == "failed"
        WebhookChange.objects.create(
            event=event,
            entry_index=0,
            change_index=0,
            field="messages",
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            organization=owner,
            value=value,
            state=state,
            error=(
                "OperationalError: canceling statement due to lock timeout (demo failure)"
                if failed
                else "no organization owns this number"
            ),
            attempts=settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS if failed else 0,
            processed_at=timezone.now() - timedelta(minutes=5 * n) if failed else None,
        )
