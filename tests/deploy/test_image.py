"""The production image without Docker: deploy/Dockerfile's structure, and its entrypoint run
in a plain virtualenv (this one), each role starting the real process under production
settings and stopping gracefully on SIGTERM, as Kubernetes and compose stop it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import DEPLOY, ROOT, entrypoint_roles
from tests.production_env import production_env, suite_database_url

ENTRYPOINT = DEPLOY / "entrypoint.sh"
DOCKERFILE = DEPLOY / "Dockerfile"
# The first request loads the URL confs and views: seconds on a busy 2-core machine.
SLOW = 60


def instructions(stage: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined; only those of
    the stage named `stage` when given."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result, current = [], None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else None
        if stage is None or current == stage:
            result.append((word.upper(), rest.strip()))
    return result


def test_the_dockerfile_builds_in_two_stages_and_runs_as_nobody_in_particular() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert froms == ["python:3.11-slim AS build", "python:3.11-slim AS runtime"]
    runtime = instructions("runtime")
    users = [args for word, args in runtime if word == "USER"]
    assert users == ["10001:10001"]  # numeric: runAsNonRoot can check it
    assert ("ENTRYPOINT", '["/app/entrypoint.sh"]') in runtime
    # Only the build stage has compilers' leftovers; the runtime copies the venv and the app.
    assert [args for word, args in runtime if word == "COPY"] == [
        "--from=build /opt/venv /opt/venv",
        "--from=build /app /app",
    ]
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "DJANGO_SETTINGS_MODULE=saas_platform.settings.production" in env


def test_every_copied_path_exists_and_static_files_are_collected() -> None:
    build = instructions("build")
    for word, args in build:
        if word == "COPY":
            *sources, _destination = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    run = " ".join(args for word, args in build if word == "RUN")
    assert "collectstatic --noinput" in run
    assert "--constraint requirements/dev.lock" in run
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".data", ".env", ".git"} <= set(ignored)


def test_what_the_image_installs_is_pinned_by_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        canonicalize_name(match[1])
        for match in re.finditer(
            r"^([A-Za-z0-9._-]+)==", (ROOT / "requirements/dev.lock").read_text(), re.M
        )
    }
    for spec in project["dependencies"]:
        assert canonicalize_name(Requirement(spec).name) in pins, spec


def stub_bin(tmp_path: Path) -> Path:
    """gunicorn, celery and python stand-ins that print the command line they were given."""
    for name in ("gunicorn", "celery", "python"):
        stub = tmp_path / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        stub.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "command"),
    [
        ([], "gunicorn saas_platform.wsgi --config python:saas_platform.gunicorn_conf"),
        (["web"], "gunicorn saas_platform.wsgi --config python:saas_platform.gunicorn_conf"),
        (["webhook-worker", "--batch", "50"], "python manage.py webhook_worker --batch 50"),
        (
            ["worker", "outbound"],
            "celery -A saas_platform.celery worker --queues outbound --prefetch-multiplier=1 "
            "--hostname outbound@%h --loglevel INFO",
        ),
        (
            ["worker", "media,inbound", "--concurrency", "4"],
            "celery -A saas_platform.celery worker --queues media,inbound "
            "--hostname media@%h --loglevel INFO --concurrency 4",
        ),
        (["migrate"], "python manage.py migrate_platform"),
        (["manage", "check", "--deploy"], "python manage.py check --deploy"),
    ],
)
def test_each_role_runs_its_command(tmp_path: Path, args: list[str], command: str) -> None:
    env = {"PATH": f"{stub_bin(tmp_path)}:/usr/bin:/bin", "LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == command


def test_beat_keeps_its_schedule_under_tmp(tmp_path: Path) -> None:
    env = {"PATH": f"{stub_bin(tmp_path)}:/usr/bin:/bin", "TMPDIR": "/scratch"}
    result = subprocess.run(
        [str(ENTRYPOINT), "beat"], env=env, capture_output=True, text=True, timeout=10
    )
    assert result.stdout.strip() == (
        "celery -A saas_platform.celery beat --loglevel INFO "
        "--schedule /scratch/celerybeat-schedule"
    )
    assert {"web", "webhook-worker", "worker", "beat", "migrate", "manage"} == entrypoint_roles()


# --- The real processes, from this virtualenv, under production settings --------------------


def venv_env(**extra: str) -> dict[str, str]:
    """Production settings on the suite's database and a broker database of its own, with this
    virtualenv's bin/ first on PATH (as /opt/venv/bin is in the image)."""
    return production_env(
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        DATABASE_URL=suite_database_url(),
        CELERY_BROKER_URL="redis://127.0.0.1:63790/14",
        **extra,
    )


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ENTRYPOINT), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_output(process: subprocess.Popen, needle: str, seconds: float = 60) -> str:
    """Lines of the process's output up to the first one containing `needle`."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    process.kill()
    raise AssertionError(f"{needle!r} never printed:\n{''.join(seen)[-3000:]}")


def stop_gracefully(process: subprocess.Popen, needle: str) -> None:
    """SIGTERM, then the process must say `needle` and exit 0 on its own."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=40)
    assert needle in output, output[-3000:]
    assert process.returncode == 0, f"exit {process.returncode}: {output[-3000:]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.integration
def test_web_serves_probes_and_stops_gracefully(django_db_setup, tmp_path: Path) -> None:
    port = free_port()
    web = start(["web", "--workers", "1"], venv_env(PORT=str(port), STATIC_ROOT=str(tmp_path)))
    wait_for_output(web, "Booting worker")
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}/healthz",
                headers={"Host": "10.244.1.7:8000"},
                timeout=SLOW,
            )
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert response.status_code == 200
    # The entrypoint exec'd gunicorn: the pid we started is gunicorn's master itself.
    stop_gracefully(web, "Shutting down: Master")


@pytest.mark.integration
def test_outbound_worker_starts_and_finishes_warm_on_sigterm(django_db_setup) -> None:
    worker = start(["worker", "outbound", "--concurrency", "1"], venv_env())
    banner = wait_for_output(worker, "ready.")
    assert ".> outbound" in banner
    stop_gracefully(worker, "Warm shutdown")


@pytest.mark.integration
def test_beat_starts_and_stops(django_db_setup, tmp_path: Path) -> None:
    beat = start(["beat"], venv_env(TMPDIR=str(tmp_path)))
    wait_for_output(beat, "beat: Starting")
    # The scheduler opens its schedule file under TMPDIR once it runs (signals handled by then).
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("celerybeat-schedule*")):
        assert time.monotonic() < deadline, "beat wrote no schedule under TMPDIR"
        time.sleep(0.2)
    stop_gracefully(beat, "")


@pytest.mark.integration
def test_webhook_worker_and_migrate_run_to_completion(django_db_setup) -> None:
    env = venv_env()
    once = subprocess.run(
        [str(ENTRYPOINT), "webhook-worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr[-3000:]
    migrate = subprocess.run(
        [str(ENTRYPOINT), "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
