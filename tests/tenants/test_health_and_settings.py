"""Health probes on every host; production refuses the public development secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_healthz_on_public_and_tenant_hosts(public_client, tenant_client, org_a) -> None:
    assert public_client.get("/healthz").json() == {"status": "ok"}
    assert tenant_client(org_a).get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_broker(public_client) -> None:
    response = public_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


def test_readyz_fails_when_broker_is_down(public_client, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = public_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False


def test_unknown_host_is_not_served(client) -> None:
    # The health probes answer on any host (tests/platform/test_health_any_host.py).
    response = client.get("/api/v1/messages/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404


def _start_django(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_"))}
    env.pop("TOKEN_ENCRYPTION_KEYS", None)
    env.update({"DJANGO_SETTINGS_MODULE": "saas_platform.settings", **extra_env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_development_secrets() -> None:
    result = _start_django({"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "TOKEN_ENCRYPTION_KEYS" in result.stderr


def test_production_starts_with_real_secrets() -> None:
    from cryptography.fernet import Fernet

    result = _start_django(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "a-real-secret-" + "x" * 40,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "WHATSAPP_APP_SECRET": "real-app-secret",
            "WHATSAPP_VERIFY_TOKEN": "real-verify-token",
        }
    )
    assert result.returncode == 0, result.stderr


def test_unknown_api_paths_answer_the_json_error_shape(tenant_client, public_client, org_a):
    for client in (tenant_client(org_a), public_client):
        response = client.get("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint."}}
    assert tenant_client(org_a).get("/no-such-page/").status_code == 404


def test_a_malformed_jwt_is_a_401_with_simplejwts_code(tenant_client, org_a):
    response = tenant_client(org_a).get("/api/v1/messages/", HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"
    assert response.json()["error"]["message"]


def test_every_setting_read_from_the_environment_is_documented_in_env_example() -> None:
    import re

    read = set()
    for module in (ROOT / "platform").rglob("*.py"):
        read |= set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"', module.read_text()))
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read, "the settings read the environment"
    assert read - documented == set()


def test_production_task_routes_name_real_tasks_and_declared_queues() -> None:
    """Each kind of work has its queue, every routed task exists, and a plain worker (no -Q)
    consumes every queue (they are all declared)."""
    from saas_platform.celery import app
    from saas_platform.settings import base

    app.loader.import_default_modules()
    declared = {queue.name for queue in base.CELERY_TASK_QUEUES}
    assert set(base.CELERY_TASK_ROUTES) <= set(app.tasks)
    assert {route["queue"] for route in base.CELERY_TASK_ROUTES.values()} <= declared
    assert {"inbound", "outbound", "media"} <= declared
    assert base.CELERY_TASK_ROUTES["whatsapp.tasks.outbound.send_message_task"] == {
        "queue": "outbound"
    }
