"""`manage.py webhook_worker [--batch N] [--once]`: the inbound webhook worker."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from saas_platform.metrics import worker_metrics_serve
from whatsapp.webhooks.worker import webhook_worker_run


class Command(BaseCommand):
    help = (
        "Claim stored webhook events in batches (FOR UPDATE SKIP LOCKED), route their changes "
        "and apply them in their tenants; woken by LISTEN/NOTIFY, polling as a fallback. Run "
        "as many as you like. --once drains what is due and exits."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=None, help="events per batch")
        parser.add_argument(
            "--once", action="store_true", help="process until nothing is due, then exit"
        )

    def handle(self, *args, **options) -> None:
        worker_metrics_serve()
        stop = threading.Event()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda *_: stop.set())  # finish the batch in hand, then exit
        try:
            total = webhook_worker_run(batch_size=options["batch"], once=options["once"], stop=stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"webhook worker stopped: {total} event(s)/change(s) claimed")
