"""The Celery app of `outbound_send.py`'s workers: the product's app plus a statement counter.

`celery -A outbound_worker worker ...` (run from `benchmarks/`, the product installed): every
SQL statement a worker thread executes is counted, and the process's total is written to Redis
(`bench:sql:<pid>`, the benchmark's broker database) after each task, so the benchmark can print
statements per send. Django's DEBUG is turned off in the workers, as in production: with it on,
every thread's connection keeps its last 9,000 statements (`connection.queries_log`), which
shows as RSS growing while a long backlog drains. Not used by the product.
"""

from __future__ import annotations

import itertools
import os

from celery.signals import task_postrun
from django.conf import settings
from django.db.backends.signals import connection_created

from saas_platform.celery import app

settings.DEBUG = False  # production's memory profile (module docstring)

_statements = itertools.count(1)
_last = [0]
_redis = []


def _count(execute, sql, params, many, context):
    _last[0] = next(_statements)
    return execute(sql, params, many, context)


def _on_connection(sender, connection, **kwargs) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


connection_created.connect(_on_connection)


@task_postrun.connect
def _publish(**kwargs) -> None:
    import redis

    if not _redis:
        _redis.append(redis.Redis.from_url(os.environ["REDIS_URL"]))
    _redis[0].set(f"bench:sql:{os.getpid()}", _last[0])


__all__ = ["app"]
