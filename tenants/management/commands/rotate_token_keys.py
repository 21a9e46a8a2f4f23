from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants.services.credentials import credentials_reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored access token with the first key of TOKEN_ENCRYPTION_KEYS. "
        "Rotate by prepending a new key, running this, then removing the old key."
    )

    def handle(self, *args, **options) -> None:
        count = credentials_reencrypt_all()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} token(s) with the primary key"))
