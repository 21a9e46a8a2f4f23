"""Settings of the minimal ingest app: no apps, no middleware, the product's database settings.

Read from the environment that benchmarks/webhook_ack.py gives it: `DATABASE_URL` (the same
PostgreSQL as the product's run), `WHATSAPP_APP_SECRET`, and the product's `DB_CONN_MAX_AGE`
and `DB_CONN_HEALTH_CHECKS` (same defaults), so both apps treat their connections alike.
"""

from __future__ import annotations

import environ

env = environ.Env()

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="minimal-ingest-benchmark-only")
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "minimal_ingest.views"
WSGI_APPLICATION = "minimal_ingest.wsgi.application"
USE_TZ = True
DATABASES = {"default": env.db_url("DATABASE_URL", engine="django.db.backends.postgresql")}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET")
LOGGING_CONFIG = None
