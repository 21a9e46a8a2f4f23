"""Sentry error reporting (saas_platform.sentry): the scrubber removes tokens, secrets and
message bodies from events, and a real SDK started by `sentry_init` sends its events through it
(to a loopback HTTP server standing in for Sentry's ingest)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saas_platform.sentry import scrub_event, sentry_init

TOKEN = "EAAsentrytoken0123456789abcdefghij"
BODY = "private words from a customer"


def test_the_scrubber_removes_credentials_and_bodies_from_every_part_of_an_event():
    event = {
        "message": f"call failed with access_token={TOKEN}",
        "request": {
            "url": "http://localhost/webhooks/whatsapp/",
            "query_string": "hub.mode=subscribe&hub.verify_token=vt-secret&hub.challenge=1",
            "headers": {
                "Authorization": f"Bearer {TOKEN}",
                "X-Hub-Signature-256": "sha256=abc",
                "Content-Type": "application/json",
            },
            "cookies": {"sessionid": "s3ss10n"},
            "data": {"entry": [{"changes": [{"value": {"messages": [{"text": BODY}]}}]}]},
        },
        "extra": {"access_token": TOKEN, "payload": {"text": {"body": BODY}}},
        "breadcrumbs": {
            "values": [{"message": f"graph POST Authorization: Bearer {TOKEN}", "data": {}}]
        },
        "exception": {
            "values": [
                {
                    "type": "GraphError",
                    "value": f"token {TOKEN} rejected",
                    "stacktrace": {
                        "frames": [
                            {"vars": {"token": TOKEN, "text": BODY, "message_id": "42"}},
                        ]
                    },
                }
            ]
        },
    }
    scrubbed = json.dumps(scrub_event(event, {}))
    for secret in (TOKEN, BODY, "vt-secret", "s3ss10n", "sha256=abc"):
        assert secret not in scrubbed
    # What helps debugging stays.
    assert '"message_id": "42"' in scrubbed and "application/json" in scrubbed
    assert "hub.challenge=1" in scrubbed and "GraphError" in scrubbed


def test_no_dsn_no_sdk():
    assert sentry_init(dsn="", environment="test", traces_sample_rate=0.0) is False


class _Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        elif self.headers.get("Content-Encoding") == "br":
            import brotli

            body = brotli.decompress(body)
        _Ingest.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


def test_a_real_sdk_sends_scrubbed_events():
    """The SDK runs in a child process (it patches Django and Celery globally) and reports an
    exception whose frame holds a token and a message body to a loopback ingest server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Ingest.received = []
    dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        import sentry_sdk
        from saas_platform.sentry import sentry_init
        assert sentry_init(dsn={dsn!r}, environment="test", traces_sample_rate=0.0)

        def send(access_token, text):
            raise RuntimeError("Meta refused Authorization: Bearer " + access_token)

        try:
            send({TOKEN!r}, {BODY!r})
        except RuntimeError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=10)
        """
    )
    try:
        subprocess.run([sys.executable, "-c", script], env=dict(os.environ), check=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    sent = b"".join(_Ingest.received).decode()
    assert "RuntimeError" in sent and "Meta refused" in sent
    assert TOKEN not in sent and BODY not in sent
    assert "[redacted]" in sent  # the frame's variables were sent, scrubbed
