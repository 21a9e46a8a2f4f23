"""The server itself (keep-alive, unknown paths, context manager, ids) and the CLI."""

from __future__ import annotations

import json
import time

import httpx

from whatsapp.sandbox import SandboxConfig, SandboxServer
from whatsapp.sandbox.__main__ import main


def test_keep_alive_throughput(sandbox_server, sandbox):
    with httpx.Client(base_url=sandbox_server.url) as client:
        started = time.monotonic()
        for _ in range(300):
            assert client.get("/_sandbox/health").status_code == 200
        elapsed = time.monotonic() - started
    assert elapsed < 3  # well above 100 req/s on one connection; see README for load numbers


def test_unknown_paths_and_json_errors(sandbox, graph, sandbox_server):
    response = httpx.get(f"{sandbox_server.url}/nope")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["fbtrace_id"]
    bad_json = graph.post(
        "/123/messages", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.json()["error"]["code"] == 100
    assert httpx.get(f"{sandbox_server.url}/_sandbox/nope").status_code == 404


def test_context_manager_and_port_zero():
    with SandboxServer(SandboxConfig(port=0)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url + "/_sandbox/health").json()["status"] == "ok"


def test_requests_filters_and_clear(sandbox, graph):
    graph.get("/1")
    since = time.time()
    graph.get("/2")
    assert [r["path"] for r in sandbox.requests(since=since)] == ["/v25.0/2"]
    assert len(sandbox.requests(path_contains="/v25.0/")) == 2
    sandbox.clear_requests()
    assert sandbox.requests() == []


def test_cli_client_commands(sandbox, sandbox_server, capsys):
    url = ["--url", sandbox_server.url]
    assert (
        main(["send", *url, "--phone-number-id", "123", "--from", "+15551234567", "--text", "hi"])
        == 0
    )
    sent = json.loads(capsys.readouterr().out)
    assert sent["message"]["text"] == {"body": "hi"}
    assert (
        main(
            [
                "send",
                *url,
                "--phone-number-id",
                "123",
                "--from",
                "+15551234567",
                "--type",
                "image",
                "--caption",
                "pic",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["message"]["image"]["caption"] == "pic"
    assert main(["fault", "add", "timeout", "--count", "3", *url]) == 0
    assert json.loads(capsys.readouterr().out)["remaining"] == 3
    assert main(["fault", "clear", *url]) == 0
    assert sandbox.faults() == []
    assert main(["expire-token", "TOKEN", *url]) == 0
    assert main(["requests", *url]) == 0
    assert main(["status", "wamid.unknown", "read", *url]) == 1
