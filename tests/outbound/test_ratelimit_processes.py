"""Two worker processes share one number's limiter, measured where Meta would measure it: the
sandbox records when each request arrived and refuses (130429) any request over the number's
cap in a sliding 1-second window. Each process runs the product's own sending pieces (the Redis
limiter, the sender pool with its coalesced releases, the Graph client) with several threads;
the database is not involved (the full pipeline through Celery is in
test_send_rate_and_receipts.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from .conftest import accepted_sends
from .test_ratelimit import max_in_any_window

pytestmark = [pytest.mark.integration]

LIMIT = 40  # the same as tests/outbound/rate_limit_worker.py's
SECONDS = 4.0


def test_two_worker_processes_never_put_more_than_the_limit_in_any_second_at_meta(
    sender_a, sandbox
) -> None:
    sandbox.set_rate_limit(sender_a.phone_number_id, LIMIT)  # Meta's cap: 130429 above it
    sandbox.set_window_enforcement(False)
    stop_at = time.time() + SECONDS + 6  # each interpreter starts Django first (1-3 s)
    command = [
        sys.executable,
        "-m",
        "tests.outbound.rate_limit_worker",
        sandbox.base_url,
        sender_a.phone_number_id,
        sender_a.token,
        str(stop_at),
        settings.REDIS_URL,
    ]
    processes = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
            cwd=settings.BASE_DIR,
            # The same test run: the same Redis key prefix, so the one shared limiter.
            env={**os.environ, "SAAS_TEST_RUN_ID": settings.REDIS_KEY_PREFIX[6:-1]},
        )
        for _ in range(2)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=SECONDS + 90)
        assert process.returncode == 0, out
        reports.append(tuple(json.loads(out.strip().splitlines()[-1])))
    sandbox.set_window_enforcement(True)

    assert all(sent > 0 for sent, _ in reports)  # both processes sent
    assert [failed for _, failed in reports] == [0, 0]  # not one 130429 (nor anything else)
    sends = accepted_sends(sandbox, sender_a.phone_number_id)
    assert len(sends) == sum(sent for sent, _ in reports)
    times = sorted(entry["time"] for entry in sends)
    assert max_in_any_window(times) <= LIMIT
    rate = (len(times) - 1) / (times[-1] - times[0])
    # Close to the limit, not just under it (the benchmark measures 0.95x and more on a quiet
    # machine; a loaded CI runner gets some slack).
    assert rate >= 0.8 * LIMIT
