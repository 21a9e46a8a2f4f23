"""Production settings (saas_platform.settings.production): `check --deploy` is clean, the
development secrets are refused, and over real HTTP under gunicorn with the project's config
the security headers, the HTTPS redirect, static files and the any-Host health probes behave.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.production_env import production_env, suite_database_url

ROOT = Path(__file__).resolve().parents[2]
# The first request loads the URL confs and views: seconds on a busy 2-core machine.
SLOW = 60


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_the_base_settings() -> None:
    """The check is not vacuous: the development settings fail it (DEBUG, no HSTS, ...)."""
    env = production_env(DJANGO_SETTINGS_MODULE="saas_platform.settings")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on
    assert "security.W004" in result.stderr  # no HSTS


def test_production_settings_refuse_development_secrets_even_without_django_debug() -> None:
    env = production_env()
    for name in ("DJANGO_SECRET_KEY", "WHATSAPP_APP_SECRET"):
        env.pop(name)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "WHATSAPP_APP_SECRET" in result.stderr


def _gunicorn_start():
    spec = importlib.util.spec_from_file_location(
        "gunicorn_server", ROOT / "benchmarks" / "gunicorn_server.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.free_port, module.gunicorn_start


@pytest.fixture(scope="module")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """gunicorn (platform/gunicorn_conf.py) on the test database under production settings,
    with static files collected as the image does."""
    free_port, gunicorn_start = _gunicorn_start()
    static_root = tmp_path_factory.mktemp("static")
    port = free_port()
    env = production_env(
        DATABASE_URL=suite_database_url(),
        STATIC_ROOT=str(static_root),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
    )
    collected = manage("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr
    server = gunicorn_start("saas_platform.wsgi", env=env, port=port, name="production")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.integration
def test_probes_answer_on_a_pod_ip_host_over_plain_http(production_server) -> None:
    """Kubernetes probes: plain HTTP, the pod IP as Host; no redirect to HTTPS, no 404."""
    headers = {"Host": "10.244.1.7:8000"}
    healthz = httpx.get(f"{production_server}/healthz", headers=headers, timeout=SLOW)
    assert healthz.status_code == 200, healthz.text
    assert healthz.json() == {"status": "ok"}
    readyz = httpx.get(f"{production_server}/readyz", headers=headers, timeout=SLOW)
    assert readyz.status_code == 200
    assert readyz.json()["checks"] == {"database": True, "broker": True}
    for path in ("/admin/login/", "/signup/", "/api/v1/docs/"):
        assert (
            httpx.get(f"{production_server}{path}", headers=headers, timeout=SLOW).status_code
            == 404
        )


@pytest.mark.integration
def test_plain_http_is_redirected_to_https(production_server) -> None:
    response = httpx.get(
        f"{production_server}/admin/login/", headers={"Host": "localhost"}, timeout=SLOW
    )
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/admin/login/"


@pytest.mark.integration
def test_https_pages_carry_the_security_headers(production_server) -> None:
    headers = {"Host": "localhost", "X-Forwarded-Proto": "https"}
    response = httpx.get(f"{production_server}/admin/login/", headers=headers, timeout=SLOW)
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "content-security-policy-report-only" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers["set-cookie"]
    assert "csrftoken=" in cookie
    assert "Secure" in cookie


@pytest.mark.integration
def test_static_files_and_api_docs_are_served_under_the_policy(production_server, org_a) -> None:
    """WhiteNoise serves the collected files; the docs load their script as a file, which
    `script-src 'self'` allows (an inline <script> would be blocked)."""
    headers = {"Host": org_a.host, "X-Forwarded-Proto": "https"}
    css = httpx.get(f"{production_server}/static/admin/css/base.css", headers=headers, timeout=SLOW)
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    docs = httpx.get(f"{production_server}/api/v1/docs/", headers=headers, timeout=SLOW)
    assert docs.status_code == 200
    assert "<script>" not in docs.text
    script = httpx.get(f"{production_server}/api/v1/docs/?script=", headers=headers, timeout=SLOW)
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
