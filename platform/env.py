"""Environment access for settings: one `environ.Env`, with `.env` read when present.

Every setting comes from the environment (twelve-factor) with a development default, so a fresh
clone runs with no configuration. `DEV_SECRETS` lists the defaults that must never reach
production; `saas_platform.settings.base` refuses to start with any of them when DEBUG is off.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Development defaults. They are public (they are in this file), so they are only fit for a laptop.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEV_TOKEN_ENCRYPTION_KEY = "ZGV2LW9ubHktdG9rZW4tZW5jcnlwdGlvbi1rZXktMDA="  # noqa: S105
DEV_WHATSAPP_APP_SECRET = "sandbox-app-secret"  # noqa: S105
DEV_WHATSAPP_VERIFY_TOKEN = "sandbox-verify-token"  # noqa: S105

DEV_SECRETS = {
    "DJANGO_SECRET_KEY": DEV_SECRET_KEY,
    "TOKEN_ENCRYPTION_KEYS": DEV_TOKEN_ENCRYPTION_KEY,
    "WHATSAPP_APP_SECRET": DEV_WHATSAPP_APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": DEV_WHATSAPP_VERIFY_TOKEN,
}


def dev_secrets_in_use(configured: dict[str, list[str]]) -> list[str]:
    """Names of settings whose configured values include their public development default."""
    return sorted(name for name, values in configured.items() if DEV_SECRETS[name] in values)


def refuse_dev_secrets(configured: dict[str, list[str]]) -> None:
    """Raise ImproperlyConfigured naming every setting still on its public development default.

    Called by the settings whenever DEBUG is off (base with DJANGO_DEBUG=false, and production).
    """
    from django.core.exceptions import ImproperlyConfigured

    on_dev_defaults = dev_secrets_in_use(configured)
    if on_dev_defaults:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off but these settings still hold their public development "
            f"defaults: {', '.join(on_dev_defaults)}. Set real values in the environment."
        )
