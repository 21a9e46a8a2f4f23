"""The environment of a process started under production settings by a test: real (throwaway)
secrets, and the suite's own test database."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet
from django.db import connection

PRODUCTION = "saas_platform.settings.production"


def production_env(**extra: str) -> dict[str, str]:
    """This process's environment, less its Django/WhatsApp settings, under production
    settings with freshly generated secrets; `extra` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": PRODUCTION,
            "DJANGO_SECRET_KEY": "production-test-" + "k7Qz" * 12,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "WHATSAPP_APP_SECRET": "a-real-app-secret",
            "WHATSAPP_VERIFY_TOKEN": "a-real-verify-token",
            **extra,
        }
    )
    return env


def suite_database_url() -> str:
    """DATABASE_URL of the test database this pytest process created."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
