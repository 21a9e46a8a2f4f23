"""Settings for the test suite: fast hashing, isolated media, database and broker queue.

Each pytest process gets its own test database and Celery queue (by pid), so
two suites running at once on one machine (developers, CI retries) never take each other's
tasks or drop each other's database.
"""

from __future__ import annotations

import os
import tempfile

from kombu import Exchange, Queue

from saas_platform.settings.base import *  # noqa: F403

# A helper process of the suite (a second Celery worker started by a test) joins its run.
_RUN = os.environ.get("SAAS_TEST_RUN_ID") or f"{os.getpid()}"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="saas-test-media-")

# The host -> organization cache is off in the suite: tests change organizations with
# signal-less UPDATEs and expect the next request to see them (as another process would only
# after the TTL). tests/tenants/test_host_cache.py turns it on and tests it.
TENANT_HOST_CACHE_SECONDS = 0.0

# The console's second factor is tested as production runs it.
CONSOLE_OTP_REQUIRED = True
# Tests count messages they just wrote.
CONSOLE_MESSAGE_COUNTS_SECONDS = 0.0

DATABASES["default"]["TEST"] = {"NAME": f"test_saas_platform_{_RUN}"}  # noqa: F405

# The suite's own broker database, so `make run`'s worker never takes a test's task.
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:63790/15")  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"tests-{_RUN}"
# Everything in this run's one queue, which the in-process test worker consumes.
CELERY_TASK_QUEUES = [
    Queue(
        CELERY_TASK_DEFAULT_QUEUE,
        Exchange(CELERY_TASK_DEFAULT_QUEUE),
        routing_key=CELERY_TASK_DEFAULT_QUEUE,
    )
]
CELERY_TASK_ROUTES: dict = {}
REDIS_URL = CELERY_BROKER_URL
# Shared Redis state (the send limiter's schedule, pair backoffs) is namespaced per run too: a
# suite running beside this one must not reset or draw from this run's per-number budgets.
REDIS_KEY_PREFIX = f"tests-{_RUN}:"

# Plans meter but do not refuse in the suite (the session's organizations are on the free
# trial); tests/billing switch enforcement on where they test it.
BILLING_ENFORCEMENT = False
