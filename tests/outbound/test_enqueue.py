"""One enqueue path: `saas_platform.queue` publishes by task name, in the schema current at call
time, after commit; `messages_enqueue` batches ids so bulk creators need no sweeper; and two real
Celery workers (this process's and a second worker process) share one number's limiter."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.signals import before_task_publish, task_postrun
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from saas_platform.queue import enqueue_batches_on_commit, enqueue_on_commit
from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import messages_bulk_create, messages_enqueue
from whatsapp.services.ratelimit import number_messages_per_second

from .conftest import accepted_sends, connect, customer, wait_final
from .test_ratelimit import max_in_any_window

pytestmark = [pytest.mark.integration]

SEND_TASK = "whatsapp.tasks.outbound.send_message_task"
WA_ID = "447911123456"


@pytest.fixture
def published() -> Iterator[list[dict]]:
    """Every task this process publishes: name, schema header and args."""
    seen: list[dict] = []

    def record(sender=None, headers=None, body=None, **kwargs) -> None:
        args = body[0] if isinstance(body, tuple | list) and body else None
        seen.append({"task": sender, "schema": (headers or {}).get("_schema_name"), "args": args})

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


def bulk_queued(sender, count: int) -> list[int]:
    contact = customer(sender, WA_ID)
    with in_tenant(sender.org):
        rows = WhatsAppMessage.objects.bulk_create(
            WhatsAppMessage(
                direction="outgoing",
                status="queued",
                contact=contact,
                recipient=WA_ID,
                type="text",
                content={"body": f"bulk {i}"},
                phone_number_id=sender.phone_number_id,
                timestamp=timezone.now(),
            )
            for i in range(count)
        )
        ids = [row.pk for row in rows]
        messages_enqueue(message_ids=ids)
    return ids


def test_enqueue_captures_the_schema_at_call_time_and_publishes_only_on_commit(
    live_db, org_a, published
) -> None:
    with transaction.atomic():
        with schema_context(org_a.schema):
            enqueue_on_commit(SEND_TASK, args=[[987654321]])
        assert connection.schema_name == "public"
        assert published == []  # not before the commit
    assert [(p["task"], p["schema"], p["args"]) for p in published] == [
        (SEND_TASK, org_a.schema, [[987654321]])
    ]
    published.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        with schema_context(org_a.schema):
            enqueue_batches_on_commit(SEND_TASK, ids=[1, 2, 3], batch_size=2)
        raise RuntimeError("rolled back")
    assert published == []  # a rolled-back creation publishes nothing


def test_bulk_created_rows_are_sent_in_batches_without_the_sweeper(
    sender_a, sandbox, celery_worker, published, settings
) -> None:
    settings.WHATSAPP_SEND_BATCH_SIZE = 100
    connect(sender_a.org, mps=1000)
    sandbox.set_rate_limit(sender_a.phone_number_id, 1000)
    sandbox.set_window_enforcement(False)
    ids = bulk_queued(sender_a, 250)
    sends = [p for p in published if p["task"] == SEND_TASK]
    # One Celery message per batch of ids (100, 100, 50), in A's schema.
    assert [len(p["args"][0]) for p in sends[:3]] == [100, 100, 50]
    assert {p["schema"] for p in sends} == {sender_a.org.schema}
    messages = wait_final(sender_a.org, ids, timeout=60)
    sandbox.set_window_enforcement(True)
    assert {m.status for m in messages} == {"accepted"}
    references = [
        e["body"]["biz_opaque_callback_data"]
        for e in accepted_sends(sandbox, sender_a.phone_number_id)
    ]
    assert sorted(references) == sorted(str(m.client_reference) for m in messages)


def outgoing_rows(sender, contact, count: int, *, key_prefix: str) -> list[dict]:
    return [
        {
            "contact": contact,
            "recipient": WA_ID,
            "type": "text",
            "content": {"body": f"set-wise {i} \u00e9"},
            "phone_number_id": sender.phone_number_id,
            "idempotency_key": f"{key_prefix}-{i}",
        }
        for i in range(count)
    ]


def test_messages_bulk_create_stores_set_wise_enqueues_on_commit_and_skips_stored_keys(
    sender_a, sandbox, celery_worker, published, settings
) -> None:
    settings.WHATSAPP_SEND_BATCH_SIZE = 40
    connect(sender_a.org, mps=1000)
    sandbox.set_rate_limit(sender_a.phone_number_id, 1000)
    sandbox.set_window_enforcement(False)
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        ids = messages_bulk_create(
            messages=outgoing_rows(sender_a, contact, 100, key_prefix="run1"), chunk_size=30
        )
        # The same creator run again (a retried campaign step): stored keys are skipped, only
        # the new rows are inserted and sent.
        again = messages_bulk_create(
            messages=outgoing_rows(sender_a, contact, 110, key_prefix="run1"), chunk_size=30
        )
    assert len(ids) == 100 and len(set(ids)) == 100
    assert len(again) == 10 and not set(again) & set(ids)
    sends = [p for p in published if p["task"] == SEND_TASK]
    assert sorted(len(p["args"][0]) for p in sends) == [10, 20, 40, 40]
    assert {p["schema"] for p in sends} == {sender_a.org.schema}
    messages = wait_final(sender_a.org, ids + again, timeout=60)
    sandbox.set_window_enforcement(True)
    assert {m.status for m in messages} == {"accepted"}
    assert {m.content["body"] for m in messages} == {f"set-wise {i} \u00e9" for i in range(110)}
    references = [
        e["body"]["biz_opaque_callback_data"]
        for e in accepted_sends(sandbox, sender_a.phone_number_id)
    ]
    assert sorted(references) == sorted(str(m.client_reference) for m in messages)


def test_messages_bulk_create_is_all_or_nothing(sender_a, published) -> None:
    contact = customer(sender_a, WA_ID)
    rows = outgoing_rows(sender_a, contact, 3, key_prefix="bad")
    rows[2]["type"] = "x" * 300  # longer than the column: PostgreSQL refuses the chunk
    with in_tenant(sender_a.org):
        with pytest.raises(Exception, match="too long"):
            messages_bulk_create(messages=rows)
        assert not WhatsAppMessage.objects.filter(idempotency_key__startswith="bad-").exists()
        not_queued = outgoing_rows(sender_a, contact, 1, key_prefix="sent")
        not_queued[0]["status"] = "sent"
        with pytest.raises(ValueError, match="status"):
            messages_bulk_create(messages=not_queued)
        with pytest.raises(KeyError, match="colour"):
            messages_bulk_create(messages=[{**rows[0], "colour": "red"}])
    assert [p for p in published if p["task"] == SEND_TASK] == []


def test_a_tenant_cannot_enqueue_another_tenants_messages(
    sender_a, sender_b, sandbox, celery_worker
) -> None:
    """Ids are resolved in the enqueuing tenant's schema: B naming A's ids sends nothing."""
    sandbox.set_window_enforcement(False)
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        # Created `sending` (the signal enqueues only queued rows), then made `queued`: a
        # queued row of A that A itself never enqueued.
        message = OutgoingMessageFactory(
            status="sending", contact=contact, text="A's", phone_number_id=sender_a.phone_number_id
        )
        WhatsAppMessage.objects.filter(pk=message.pk).update(status="queued")
        message_id = message.pk
    with in_tenant(sender_b.org):
        messages_enqueue(message_ids=[message_id])
    time.sleep(1.0)
    sandbox.set_window_enforcement(True)
    with in_tenant(sender_a.org):
        assert WhatsAppMessage.objects.get(pk=message_id).status == "queued"
    assert accepted_sends(sandbox, sender_a.phone_number_id) == []
    assert accepted_sends(sandbox, sender_b.phone_number_id) == []


def test_the_rate_is_read_from_the_numbers_tier() -> None:
    assert number_messages_per_second(SimpleNamespace(messages_per_second=1000)) == 1000
    assert number_messages_per_second(SimpleNamespace(messages_per_second=80)) == 80
    coexistence = SimpleNamespace(messages_per_second=80, is_coexistence=True)
    assert number_messages_per_second(coexistence) == 20
    assert number_messages_per_second(SimpleNamespace(throughput_mps=1000)) == 1000


@pytest.fixture
def second_worker(celery_worker, sandbox, tmp_path: Path) -> Iterator[Path]:
    """A second Celery worker *process* on this run's queue, database and sandbox."""
    log = tmp_path / "worker2.log"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="saas_platform.settings.test",
        SAAS_TEST_RUN_ID=str(os.getpid()),
        DATABASE_URL=("postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)),
        WHATSAPP_GRAPH_URL=sandbox.base_url,
    )
    from django.conf import settings as django_settings

    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "saas_platform.celery",
        "worker",
        "--pool=threads",
        "--concurrency=4",
        "-Q",
        django_settings.CELERY_TASK_DEFAULT_QUEUE,
        "-n",
        f"second-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b" ready." in log.read_bytes(), timeout=60)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_two_workers_share_the_numbers_limiter_at_its_tier(
    sender_a, sandbox, second_worker, published, settings
) -> None:
    """A 20/s number (coexistence tier): both workers send, no 1-second window holds more than
    the tier less the reserved share, Meta never answers 130429, every message once."""
    settings.WHATSAPP_SEND_BATCH_SIZE = 5
    connect(sender_a.org, mps=20)
    sandbox.set_rate_limit(sender_a.phone_number_id, 20)
    sandbox.set_window_enforcement(False)
    here: list[str] = []

    def count_here(sender=None, **kwargs) -> None:
        if sender is not None and sender.name == SEND_TASK:
            here.append(kwargs.get("task_id", ""))

    task_postrun.connect(count_here, weak=False)
    try:
        ids = bulk_queued(sender_a, 80)
        messages = wait_final(sender_a.org, ids, timeout=60)
    finally:
        task_postrun.disconnect(count_here)
        sandbox.set_window_enforcement(True)
    assert {m.status for m in messages} == {"accepted"}
    requests = [
        e
        for e in sandbox.requests(path_contains=f"/{sender_a.phone_number_id}/messages")
        if e["method"] == "POST"
    ]
    peak = max_in_any_window([e["time"] for e in requests])
    refused = [e["time"] for e in requests if e["status"] != 200]
    assert refused == [], f"130429 at {refused}, peak {peak}"  # Meta never refused one
    assert len(requests) == 80
    assert peak <= 20 * 0.9
    assert here, "this process's worker sent nothing"
    assert b"send_message_task" in second_worker.read_bytes() and b"succeeded" in (
        second_worker.read_bytes()
    ), "the second worker sent nothing"
