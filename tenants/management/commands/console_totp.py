"""`manage.py console_totp --email EMAIL [--reset] [--code]`: a staff user's console second
factor (tenants.services.staff_otp)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tenants.services.staff_otp import staff_totp_device, totp_code_now, totp_secret


class Command(BaseCommand):
    help = (
        "Set up (or show) a staff user's TOTP device for the console and print its secret and "
        "otpauth:// URL for an authenticator app."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--reset", action="store_true", help="replace the existing secret")
        parser.add_argument(
            "--code", action="store_true", help="print the current code only (DEBUG only)"
        )

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["email"].strip().lower()).first()
        if user is None or not user.is_staff:
            raise CommandError(f"no staff user {options['email']}")
        device = staff_totp_device(user=user, reset=options["reset"])
        if options["code"]:
            if not settings.DEBUG:
                raise CommandError("--code is for development only")
            self.stdout.write(totp_code_now(device))
            return
        self.stdout.write(f"secret: {totp_secret(device)}\nurl:    {device.config_url}")
