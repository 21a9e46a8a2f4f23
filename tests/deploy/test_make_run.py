"""`make run` (deploy/run.py) starts the production processes: gunicorn with the project's
config, and Celery workers that together consume every declared queue, sends with prefetch 1.
`make dev` swaps gunicorn for runserver with autoreload. (Started by hand end to end: see the
README; the processes themselves are exercised by test_image.py.)"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY


@pytest.fixture(scope="module")
def run_module():
    sys.path.insert(0, str(DEPLOY))  # run.py imports devstack.py from beside it
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(DEPLOY))


def commands(run_module, *, dev: bool) -> dict[str, list[str]]:
    return run_module.process_commands(
        dev=dev, data=Path("/nonexistent"), webhook_url="http://127.0.0.1:8000/webhooks/whatsapp/"
    )


def queues_of(command: list[str]) -> list[str]:
    return command[command.index("--queues") + 1].split(",")


def test_make_run_serves_with_gunicorn_and_the_project_config(run_module) -> None:
    web = commands(run_module, dev=False)["web"]
    assert Path(web[0]).name == "gunicorn"
    assert web[1:4] == ["saas_platform.wsgi", "--config", "python:saas_platform.gunicorn_conf"]
    assert web[web.index("--bind") + 1].startswith("127.0.0.1:")


def test_make_dev_uses_runserver_with_autoreload(run_module) -> None:
    web = commands(run_module, dev=True)["web"]
    assert web[1:3] == ["manage.py", "runserver"]
    assert "--noreload" not in web


def test_the_workers_consume_every_declared_queue_and_sends_prefetch_one(
    run_module, declared_queues
) -> None:
    processes = commands(run_module, dev=False)
    assert {"sandbox", "web", "webhooks", "worker-outbound", "worker", "beat"} == set(processes)
    workers = [c for c in processes.values() if "worker" in c and "--queues" in c]
    consumed = [queue for command in workers for queue in queues_of(command)]
    assert sorted(consumed) == sorted(declared_queues)  # each once
    outbound = processes["worker-outbound"]
    assert queues_of(outbound) == ["outbound"]
    assert "--prefetch-multiplier=1" in outbound
    assert processes["webhooks"][1:] == ["manage.py", "webhook_worker"]
