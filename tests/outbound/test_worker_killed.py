"""A real Celery worker process killed with SIGKILL in the middle of a batch, then recovery:
every message ends sent exactly once at the sandbox, and nothing waits for the 15-minute
unconfirmed sweep.

The worker is a fresh interpreter (`python -m celery ... worker`, as deployed; never a fork of
the test process) on this run's test database, broker and Redis prefix, consuming a queue of
its own that gets the one batch. The sandbox answers each send 400 ms after accepting it (its
status webhooks leave at once), so at the kill some requests are on the wire while the claims
ahead of them (the limiter hands out slots up to 2 s ahead) were never written. Recovery is
what beat runs: the sweeper, with WHATSAPP_SEND_RECLAIM_AFTER at 1 s; the rows it puts back go
to the session's in-process worker (the restarted worker).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from saas_platform.celery import app
from tests.conftest import in_tenant, wait_for
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import messages_sweep_stale
from whatsapp.services.outbound.enqueue import SEND_TASK

from .conftest import accepted_sends, connect, wait_final

pytestmark = [pytest.mark.integration]

COUNT = 120
MPS = 20  # the limiter hands out 18/s (reserved share 0.1): ~7 s for the batch


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _start_worker(queue: str, graph_url: str) -> subprocess.Popen:
    """A Celery worker in a fresh interpreter, as deployed (thread pool), on this test run."""
    command = [sys.executable, "-m", "celery", "-A", "saas_platform.celery", "worker",
               "--pool", "threads", "--concurrency", "2", "-Q", queue, "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "saas_platform.settings.test",
            # The same run: the same broker database, Redis prefix (limiter, fence) and queue
            # names; the database of this test session.
            "SAAS_TEST_RUN_ID": django_settings.REDIS_KEY_PREFIX[6:-1],
            "DATABASE_URL": _test_database_url(),
            "WHATSAPP_GRAPH_URL": graph_url,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def fast_number(live_db, org_a, sandbox, settings):
    settings.WHATSAPP_SEND_RECLAIM_AFTER = 1
    sender = connect(org_a, mps=MPS)
    sandbox.set_rate_limit(sender.phone_number_id, MPS)
    sandbox.set_window_enforcement(False)
    sandbox.update_config(auto_status=True, auto_status_delays=[0.05])
    yield sender
    sandbox.set_window_enforcement(True)


def test_a_worker_killed_mid_batch_leaves_every_message_sent_exactly_once(
    fast_number, sandbox, webhook_worker, celery_worker
) -> None:
    sender = fast_number
    sandbox.add_fault("slow_after_accept", ms=400, probability=1.0, path_regex=r"/messages$")
    with in_tenant(sender.org):
        wrote = timezone.now() - timedelta(hours=1)  # each customer's 24-hour window is open
        contacts = Contact.objects.bulk_create(
            [Contact(wa_id=f"4479555{i:05d}", last_inbound_at=wrote) for i in range(COUNT)]
        )
        WhatsAppMessage.objects.bulk_create(
            [
                WhatsAppMessage(
                    direction="incoming", status="received", contact=contact, type="text",
                    wamid=f"wamid.killed-in-{contact.wa_id}", from_wa_id=contact.wa_id,
                    phone_number_id=sender.phone_number_id, timestamp=wrote,
                )
                for contact in contacts
            ]
        )  # fmt: skip
        # bulk_create: no post_save, so no task on the session worker's queue.
        rows = WhatsAppMessage.objects.bulk_create(
            [
                WhatsAppMessage(
                    direction="outgoing", status="queued", contact=contact,
                    recipient=contact.wa_id, type="text", content={"body": f"hello {i}"},
                    phone_number_id=sender.phone_number_id, timestamp=timezone.now(),
                )
                for i, contact in enumerate(contacts)
            ]
        )  # fmt: skip
        ids = [row.pk for row in rows]
        schema = connection.schema_name
    queue = f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-killable"
    app.send_task(SEND_TASK, args=[ids], queue=queue, headers={"_schema_name": schema})
    worker = _start_worker(queue, sandbox.base_url)
    try:
        wait_for(lambda: len(accepted_sends(sandbox, sender.phone_number_id)) >= 30, timeout=90)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed_at = timezone.now()
    with in_tenant(sender.org):
        claimed = {
            str(r)
            for r in WhatsAppMessage.objects.filter(pk__in=ids, status="sending").values_list(
                "client_reference", flat=True
            )
        }
        queued = WhatsAppMessage.objects.filter(pk__in=ids, status="queued").count()
    time.sleep(1.0)  # the requests that were on the wire are answered (400 ms) and recorded
    sandbox.clear_faults()  # the rest is answered at once
    written = {(e.get("body") or {}).get("biz_opaque_callback_data") for e in sandbox.requests()}
    never_written = claimed - written
    # The cases this is about: rows the dead worker had claimed but never sent, and the rest
    # of its batch that it never claimed (its task is not redelivered before the broker's
    # visibility timeout, an hour). The requests it had on the wire are checked at the end.
    assert never_written and queued

    # Beat's sweeper: 1 s after their claim, never-written claims go back to the queue; the
    # rest of the lost task's rows are enqueued as a lost task's (requeue_after); nothing is
    # failed as unconfirmed (that takes 15 minutes in production, an hour here).
    time.sleep(1.2)
    with in_tenant(sender.org):
        swept = messages_sweep_stale(
            unconfirmed_after=timedelta(hours=1), requeue_after=timedelta(seconds=1)
        )
    assert never_written <= _references(sender, swept["reclaimed"])
    assert not written & _references(sender, swept["reclaimed"])
    assert swept["failed"] == []

    messages = wait_final(sender.org, ids, timeout=60)
    per_reference = Counter(
        e["body"]["biz_opaque_callback_data"]
        for e in accepted_sends(sandbox, sender.phone_number_id)
    )
    assert {m.status for m in messages} <= {"accepted", "sent", "delivered", "read"}
    # Exactly one accepted request per message at the sandbox, none for anything else.
    assert Counter(per_reference[str(m.client_reference)] for m in messages) == {1: COUNT}
    assert sum(per_reference.values()) == COUNT
    # The requests that were on the wire at the kill (Meta's answer never stored) were settled
    # by their status webhook, which carries the client_reference.
    on_the_wire = [m for m in messages if m.accepted_at is None]
    assert on_the_wire and {m.status for m in on_the_wire} == {"sent"}
    assert timezone.now() - killed_at < timedelta(minutes=2)


def _references(sender, ids: list[int]) -> set[str]:
    with in_tenant(sender.org):
        return set(
            map(
                str,
                WhatsAppMessage.objects.filter(pk__in=ids).values_list(
                    "client_reference", flat=True
                ),
            )
        )
