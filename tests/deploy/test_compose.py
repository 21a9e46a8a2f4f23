"""deploy/docker-compose.yml, checked without a Docker engine: valid against the Compose
specification's schema, and every role, queue, management command and setting it names exists
in the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, READ_BY_LIBRARIES, entrypoint_roles, settings_env_names

COMPOSE = DEPLOY / "docker-compose.yml"
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def app_services(services: dict[str, dict]) -> dict[str, dict]:
    """The services that run the product's image (the others are PostgreSQL, Redis, S3)."""
    return {name: s for name, s in services.items() if s.get("image", "").startswith("whatsapp")}


def check_compose_schema(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the Compose specification's JSON schema it ships (offline)."""
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_is_not_vacuous(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  web:\n    image: x\n    bogus: 1\n")
    assert check_compose_schema(broken).returncode != 0


def test_every_service_runs_a_role_of_the_entrypoint(services) -> None:
    roles = entrypoint_roles()
    apps = app_services(services)
    assert {"migrate", "web", "webhooks", "beat"} <= set(apps)
    for name, service in apps.items():
        assert service["command"][0] in roles, name
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108 (the container's own tmpfs)


def test_one_worker_per_queue_kind_and_every_queue_is_declared(services, declared_queues) -> None:
    consumed: dict[str, str] = {}
    for name, service in app_services(services).items():
        if service["command"][0] == "worker":
            for queue in service["command"][1].split(","):
                assert queue in declared_queues, f"{name} consumes undeclared queue {queue!r}"
                assert queue not in consumed, f"{queue} consumed by {consumed.get(queue)} too"
                consumed[queue] = name
    assert set(consumed) == declared_queues
    assert set(consumed.values()) == {
        "worker-inbound",
        "worker-outbound",
        "worker-media",
        "worker-campaigns",
        "worker-default",
    }


def test_the_management_commands_it_runs_exist(services, management_commands) -> None:
    text = (DEPLOY / "entrypoint.sh").read_text()
    named = set(re.findall(r"exec python manage\.py ([a-z_]+)", text))
    assert {"webhook_worker", "migrate_platform"} <= named
    assert named <= management_commands


def test_every_environment_variable_is_read_by_the_settings(services) -> None:
    read = settings_env_names() | READ_BY_LIBRARIES
    for name, service in app_services(services).items():
        unknown = set(service["environment"]) - read
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
    assert "DJANGO_SECURE_SSL_REDIRECT" in read


def test_the_application_starts_after_migrations_and_the_bucket(services) -> None:
    apps = app_services(services)
    for name, service in apps.items():
        for dependency in service["depends_on"]:
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }
            assert service["depends_on"]["s3-bucket"]["condition"] == (
                "service_completed_successfully"
            )
    assert apps["migrate"]["restart"] == "no"
    bucket = apps["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert f"mb --ignore-existing store/{bucket}" in services["s3-bucket"]["command"][0]
    assert apps["web"]["environment"]["AWS_S3_ENDPOINT_URL"] == "http://s3:9000"


def test_workers_get_longer_than_a_task_to_stop(services, settings) -> None:
    """SIGTERM lets Celery finish the task in hand (acks late); compose must wait for it."""
    for name, service in app_services(services).items():
        seconds = int(service["stop_grace_period"].rstrip("s"))
        if service["command"][0] == "worker":
            assert seconds > settings.CELERY_TASK_TIME_LIMIT, name
