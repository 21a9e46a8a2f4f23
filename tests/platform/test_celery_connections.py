"""A Celery worker keeps its PostgreSQL sessions across tasks, and still drops a broken one.

Through a real worker (the session's thread-pool worker) and real PostgreSQL sessions: each task
records the identity of the session it ran on (backend pid + backend start time, which together
name one session even if the OS reuses a pid).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from saas_platform.celery import app
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

_sessions: list[tuple[int, str]] = []
_lock = threading.Lock()


@app.task(name="tests.platform.record_backend_session")
def record_backend_session() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        session = cursor.fetchone()
    with _lock:
        _sessions.append(session)


def _run_tasks(count: int) -> list[tuple[int, str]]:
    with _lock:
        _sessions.clear()
    for _ in range(count):
        record_backend_session.delay()

    def all_ran() -> bool:
        """every task recorded its session"""
        with _lock:
            return len(_sessions) >= count

    wait_for(all_ran, timeout=30)
    with _lock:
        return list(_sessions)


def test_tasks_reuse_database_sessions(live_db, celery_worker) -> None:
    threads = celery_worker.concurrency
    sessions = _run_tasks(40)
    assert len(sessions) == 40
    # One session per worker thread at most, not one per task.
    assert len(set(sessions)) <= threads, len(set(sessions))


def test_a_killed_session_is_replaced_not_fatal(live_db, celery_worker) -> None:
    before = set(_run_tasks(12))
    with connection.cursor() as cursor:
        for pid, _start in before:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    after = _run_tasks(12)
    # Every task ran (none failed on the dead connection), on new sessions only.
    assert len(after) == 12
    assert not set(after) & before
    assert len(set(after)) <= celery_worker.concurrency
