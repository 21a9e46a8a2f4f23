"""An S3-compatible server for the storage tests: moto's server mode (`python -m moto.server`)
on a free loopback port, in its own process, with the media bucket created; and the platform's
media storage switched to it exactly as `STORAGE_BACKEND=s3` configures it (the settings are
built in a child process from those environment variables and applied here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import in_tenant, wait_for
from tests.outbound.conftest import graph_url, sender_a, sender_b
from whatsapp.models import WhatsAppMedia

__all__ = ["S3Server", "graph_url", "s3_media", "s3_server", "sender_a", "sender_b"]

BUCKET = "saas-media-test"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret"}


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    server = S3Server(endpoint_url=endpoint, bucket=BUCKET)
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    process.terminate()
    process.wait(timeout=10)


def storages_from_env(env: dict[str, str]) -> dict[str, Any]:
    """settings.STORAGES as the settings module builds it under `env` (in a child process)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return json.loads(out.decode().strip().splitlines()[-1])


S3_ENV = {
    "STORAGE_BACKEND": "s3",
    "AWS_STORAGE_BUCKET_NAME": BUCKET,
    "AWS_S3_REGION_NAME": REGION,
}


@pytest.fixture
def s3_media(s3_server, settings, monkeypatch) -> S3Server:
    """Media storage on the S3 server for this test (credentials from the environment, as in
    production)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = storages_from_env(S3_ENV | {"AWS_S3_ENDPOINT_URL": s3_server.endpoint_url})
    return s3_server


def inbound_image_stored(sender: Any, sandbox: Any, *, data: bytes, customer: str) -> WhatsAppMedia:
    """A customer sends an image to the sender's number through the sandbox; returns its media
    row once the platform downloaded and stored it (webhook worker + Celery worker)."""
    delivered = sandbox.customer_sends(
        sender.phone_number_id, customer, "image", data=data, mime_type="image/png"
    )
    wamid = delivered["message"]["id"]

    def stored():
        """the image is stored"""
        with in_tenant(sender.org):
            return (
                WhatsAppMedia.objects.select_related("message")
                .filter(message__wamid=wamid, state=WhatsAppMedia.State.STORED)
                .first()
            )

    return wait_for(stored, timeout=20)
