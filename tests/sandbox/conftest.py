"""Fixtures for the sandbox suite: a SandboxServer on a free loopback port (one per session,
reset before every test), a SandboxClient, an httpx Graph client, and a stdlib webhook receiver.

No Django: these tests pass with and without the pytest-django plugin.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from whatsapp.sandbox import SandboxClient, SandboxConfig, SandboxServer

APP_SECRET = "test-app-secret"
APP_ID = "123456789012345"
TOKEN = "EAA-test-token"
PNID = "100000000000001"
CUSTOMER = "+15551234567"
VERSION = "v25.0"


def wait_until(predicate: Callable[[], Any], timeout: float = 3.0, interval: float = 0.01) -> Any:
    """Poll `predicate` until it returns something truthy (returned) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


class WebhookReceiver:
    """A tiny HTTP server recording every POST (raw body + headers); answers `fail_first`
    requests with 500, then 200."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_first = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    fail = receiver.fail_first > 0
                    if fail:
                        receiver.fail_first -= 1
                    receiver.calls.append(
                        {
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "time": time.monotonic(),
                            "answered": 500 if fail else 200,
                        }
                    )
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(c["body"]) for c in self.calls if c["answered"] == 200]

    def statuses(self) -> list[dict[str, Any]]:
        return [
            status
            for payload in self.payloads()
            for entry in payload["entry"]
            for change in entry["changes"]
            for status in change["value"].get("statuses", [])
        ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(port=0, app_id=APP_ID, app_secret=APP_SECRET)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def _control(sandbox_server: SandboxServer) -> Iterator[SandboxClient]:
    # One client per session: building an httpx.Client (SSL context) costs tens of ms.
    with SandboxClient(sandbox_server.url) as client:
        yield client


@pytest.fixture
def sandbox(_control: SandboxClient) -> Iterator[SandboxClient]:
    """A client for a freshly reset sandbox with test settings and no webhook URL."""
    client = _control
    client.reset()
    client.update_config(
        webhook_url=None,
        auto_status=False,
        enforce_customer_window=True,
        auto_approve_templates=True,
        messages_per_second=80,
        media_url_ttl=300,
        webhook_initial_delay=0.05,
        webhook_backoff_factor=2,
        webhook_max_attempts=8,
        app_id=APP_ID,
        app_secret=APP_SECRET,
    )
    yield client


@pytest.fixture(scope="session")
def graph(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client on `/{VERSION}/` with the default bearer token."""
    with httpx.Client(
        base_url=f"{sandbox_server.url}/{VERSION}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ) as client:
        yield client


@pytest.fixture
def receiver(sandbox: SandboxClient) -> Iterator[WebhookReceiver]:
    """A webhook receiver wired into the sandbox config."""
    webhook = WebhookReceiver()
    sandbox.update_config(webhook_url=webhook.url)
    yield webhook
    webhook.close()
