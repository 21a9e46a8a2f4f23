#!/usr/bin/env python3
"""Bulk enqueue: how long does it take to store N queued outgoing messages and enqueue them?

    .venv/bin/python benchmarks/bulk_enqueue.py [--count 100000] [--rounds 1]

Setup as for benchmarks/outbound_send.py (dev stack up and migrated; the `outbound-bench`
organization is created once). No worker runs: this measures the creator's side only, from the
first INSERT to the last task published at commit (a campaign's "start"). Each round, in the
same process and on the same rows:

- baseline: Django's `bulk_create(batch_size=5000)` then `messages_enqueue` (what a creator
  had to write before `messages_bulk_create` existed);
- product: `messages_bulk_create` (set-wise INSERT of one JSON document per chunk, enqueue on
  commit).

It prints both times, the ratio, the tasks published, and the target (100,000 rows in under
30 s). The rows and the published tasks (private broker database) are deleted after each run.
Draining them (rate, exactly once, worker memory) is benchmarks/outbound_send.py.
"""

from __future__ import annotations

import argparse
import os
import time

from outbound_send import CUSTOMERS, ensure_org, outgoing, setup_django


def row(contacts, i: int) -> dict:
    """The product path's row: the message's own fields (direction/status set by the service)."""
    fields = outgoing(contacts, i)
    del fields["direction"], fields["status"]
    return fields


def create(organization, count: int, how: str) -> tuple[float, int]:
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from saas_platform.celery import app
    from whatsapp.models import Contact, Conversation, WhatsAppMessage
    from whatsapp.services.outbound import messages_bulk_create, messages_enqueue

    def clear() -> None:  # summary rows first: they point at messages and contacts
        for model in (Conversation, WhatsAppMessage, Contact):
            model.objects.all()._raw_delete(using="default")

    with schema_context(organization.schema_name):
        clear()
        contacts = Contact.objects.bulk_create(
            Contact(wa_id=f"4479111{i:05d}", last_inbound_at=timezone.now())
            for i in range(CUSTOMERS)
        )
        app.control.purge()
        started = time.perf_counter()
        with transaction.atomic():  # tasks are published at this commit
            if how == "baseline":
                rows = WhatsAppMessage.objects.bulk_create(
                    (WhatsAppMessage(**outgoing(contacts, i)) for i in range(count)),
                    batch_size=5000,
                )
                messages_enqueue(message_ids=[row.pk for row in rows])
            else:
                messages_bulk_create(messages=(row(contacts, i) for i in range(count)))
        elapsed = time.perf_counter() - started
        stored = WhatsAppMessage.objects.filter(status="queued").count()
        tasks = app.control.purge()
        clear()
    assert stored == count, (how, stored)
    return elapsed, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    setup_django("http://127.0.0.1:9", 0.0)  # never called: no worker runs
    organization = ensure_org()
    for round_ in range(1, args.rounds + 1):
        base, base_tasks = create(organization, args.count, "baseline")
        product, tasks = create(organization, args.count, "product")
        print(
            f"round {round_}: {args.count} queued rows stored and enqueued: baseline "
            f"(bulk_create + messages_enqueue) {base:.1f} s ({base_tasks} tasks), "
            f"messages_bulk_create {product:.1f} s ({tasks} tasks), ratio "
            f"{base / product:.2f}x; target < 30 s for 100,000: "
            f"{'met' if product * 100_000 / args.count < 30 else 'NOT met'}; load "
            f"average {os.getloadavg()[0]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
