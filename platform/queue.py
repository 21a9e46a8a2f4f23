"""Enqueue Celery tasks by name, in the caller's tenant, after the transaction commits.

Services never import task modules (Zulip's `queue_event_on_commit`): they name
the task. Two facts make this the only correct way to enqueue from tenant code:

- The worker must see the rows the task is about, so the task is published in
  `transaction.on_commit` (at once in autocommit; dropped when the transaction rolls back).
- tenant-schemas-celery runs a task in the schema recorded in its `_schema_name` header. The
  commit hook may run after the creating code left its `schema_context` (an outer atomic block),
  so the schema is captured *now*, at call time, and written into the header explicitly.

`enqueue_batches_on_commit` splits a large id list into one task per batch: a 100,000-row
`bulk_create` publishes 200 messages of 500 ids, not 100,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

DEFAULT_BATCH_SIZE = 500


def _publish(
    task_name: str,
    *,
    schema: str,
    args: Sequence[Any],
    kwargs: dict[str, Any] | None,
    countdown: float | None,
) -> None:
    from saas_platform.celery import app

    options: dict[str, Any] = {"headers": {"_schema_name": schema}}
    if countdown is not None and countdown > 0:
        options["countdown"] = countdown
    app.send_task(task_name, args=list(args), kwargs=kwargs or {}, **options)


def enqueue_on_commit(
    task_name: str,
    *,
    args: Sequence[Any],
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> None:
    """Publish `task_name(*args, **kwargs)` when the current transaction commits, in the schema
    that is current now. `countdown` in seconds (None or <= 0: at once)."""
    schema = connection.schema_name
    transaction.on_commit(
        lambda: _publish(task_name, schema=schema, args=args, kwargs=kwargs, countdown=countdown)
    )


def enqueue_batches_on_commit(
    task_name: str,
    *,
    ids: Iterable[int],
    batch_size: int = DEFAULT_BATCH_SIZE,
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> int:
    """Publish `task_name([id, ...], **kwargs)` once per `batch_size` ids on commit, in the
    schema current now. Returns the number of tasks that will be published."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    ids = list(ids)
    schema = connection.schema_name
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]

    def publish_all() -> None:
        for batch in batches:
            _publish(task_name, schema=schema, args=[batch], kwargs=kwargs, countdown=countdown)

    if batches:
        transaction.on_commit(publish_all)
    return len(batches)
