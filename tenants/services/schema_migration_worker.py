"""The start of a `schemas_migrate` worker process (tenants/services/schema_migrations.py).

The workers are started with multiprocessing's "spawn" method: each is a fresh interpreter,
not a fork of the caller. A fork copies the caller's memory as it is at that instant, locks
included, but only the forking thread: a lock another thread held then (a test server's, a
Celery worker's, a connection pool's) stays held in the child for ever, and the child hangs
when it needs it. A fresh interpreter sets Django up itself, so `worker_init` is given what
the caller runs with: its settings module and the settings of the database it actually uses
(in a test run, the test database, which the settings module alone would not name).

Nothing from Django is imported here at import time: the child imports this module to find
`worker_init` before Django is set up.
"""

from __future__ import annotations

import os
from typing import Any

# The keys of `DATABASES["default"]` that say which database a process talks to.
DATABASE_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def worker_init(settings_module: str, database: dict[str, Any]) -> None:
    """Set Django up in a fresh worker: `settings_module` (a dotted path, e.g.
    "saas_platform.settings"), whose default database settings are then overridden by
    `database` (keys of DATABASE_KEYS) before any connection is made."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module

    import django
    from django.conf import settings

    settings.DATABASES["default"].update(database)
    django.setup()
