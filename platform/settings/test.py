"""Settings for the test suite: fast hashing, isolated media."""

from __future__ import annotations

import tempfile

from saas_platform.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="saas-test-media-")

# The suite's own broker database, so `make run`'s worker never takes a test's task.
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:63790/15")  # noqa: F405
REDIS_URL = CELERY_BROKER_URL
