"""Settings for the test suite: fast hashing, isolated media."""

from __future__ import annotations

import tempfile

from saas_platform.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="saas-test-media-")
