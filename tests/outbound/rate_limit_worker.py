"""One worker process of tests/outbound/test_ratelimit_processes.py, in a fresh interpreter
(as the real workers are):

    python -m tests.outbound.rate_limit_worker BASE_URL PHONE_NUMBER_ID TOKEN STOP_AT REDIS_URL

Reserves slots of the shared Redis limiter in chunks and hands them to the product's sender pool
until STOP_AT (epoch seconds); prints `[sent, failed]` as JSON."""

from __future__ import annotations

import json
import os
import sys
import time

import django

LIMIT = 40


def _sending_process(
    base_url: str, phone_number_id: str, token: str, stop_at: float, redis_url: str
) -> tuple[int, int]:
    import redis
    from django.conf import settings

    from whatsapp.graph.client import GraphClient
    from whatsapp.services.outbound.pool import post_at_slot
    from whatsapp.services.ratelimit import SendRateLimiter

    limiter = SendRateLimiter(
        phone_number_id=phone_number_id,
        messages_per_second=LIMIT,
        headroom=1.0,
        client=redis.Redis.from_url(redis_url),
    )
    client = GraphClient(
        base_url=base_url,
        api_version=settings.WHATSAPP_GRAPH_VERSION,
        token_provider=lambda: token,
    )
    futures = []
    while time.time() < stop_at:
        slots = limiter.reserve_many(count=8, max_wait=0.5)
        if not slots[0].granted:
            time.sleep(min(slots[0].wait, 0.02))
            continue
        for slot in slots:
            n = len(futures)
            payload = {
                "messaging_product": "whatsapp",
                "to": f"4479111{n % 500:05d}",
                "type": "text",
                "text": {"body": f"process {os.getpid()} message {n}"},
            }
            futures.append(
                post_at_slot(
                    client=client,
                    limiter=limiter,
                    slot=slot,
                    phone_number_id=phone_number_id,
                    payload=payload,
                )
            )
    errors = [r for r in (future.result() for future in futures) if isinstance(r, Exception)]
    if errors:
        print(f"first error: {errors[0]!r}", file=sys.stderr)
    return len(futures), len(errors)


if __name__ == "__main__":
    django.setup()
    base_url, phone_number_id, token, stop_at, redis_url = sys.argv[1:6]
    print(json.dumps(_sending_process(base_url, phone_number_id, token, float(stop_at), redis_url)))
