from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Organization, PhoneNumber
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
        self.stdout.write(self.style.SUCCESS("Demo organization ready"))
