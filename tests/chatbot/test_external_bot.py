"""The organization's external bot: a small local HTTP server in the test answers the signed
POSTs synchronously, too slowly (then is retried), with an error, or not at all (and replies
later through the send API). Real webhook worker, Celery worker and sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenants.api_keys import api_key_create
from tests.chatbot.conftest import configure, rule, texts, wait_texts, wait_turns
from tests.clients import admin_client, api_client
from tests.conftest import in_tenant, wait_for
from whatsapp.chatbot.models import ChatbotConversation

pytestmark = pytest.mark.integration

CUSTOMER = "15557770003"
SECRET = "bot-signing-secret-123"


class FakeBot:
    """Answers each POST with the next scripted answer: `(status, body, delay_s)`."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any, float]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                bot.received.append((dict(self.headers), body))
                status, answer, delay = bot.script.pop(0) if bot.script else (200, None, 0)
                time.sleep(delay)
                data = b"" if answer is None else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # we gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_bot(bot_a, org_a, settings) -> Iterator[FakeBot]:
    settings.CHATBOT_EXTERNAL_RETRY_BASE_DELAY = 0.2
    settings.CHATBOT_EXTERNAL_MAX_ATTEMPTS = 3
    bot = FakeBot()
    response = admin_client(org_a).patch(
        "/api/v1/chatbot/settings/",
        {
            "external_bot_url": bot.url,
            "external_bot_secret": SECRET,
            "external_bot_timeout_seconds": 1,
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert "external_bot_secret" not in response.json()
    assert response.json()["external_bot_secret_set"] is True
    yield bot
    bot.server.shutdown()
    bot.server.server_close()


def deliveries(org) -> list[dict[str, Any]]:
    response = admin_client(org).get("/api/v1/chatbot/deliveries/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def settled(org, count: int = 1) -> list[dict[str, Any]]:
    def done():
        """the external bot deliveries settled"""
        rows = deliveries(org)
        return rows if len(rows) >= count and all(r["state"] != "pending" for r in rows) else None

    return wait_for(done, timeout=20)


def test_a_synchronous_answer_is_sent_and_the_post_is_signed(fake_bot, sandbox, org_a, bot_a):
    fake_bot.script.append(
        (200, {"replies": [{"type": "text", "text": {"body": "From the bot."}}]}, 0)
    )
    sent = sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "anything at all")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["From the bot."]
    headers, body = fake_bot.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Chatbot-Signature"] == expected
    message = json.loads(body)["message"]
    assert message["wamid"] == sent["message"]["id"]
    assert (message["text"], message["from"]) == ("anything at all", CUSTOMER)
    (delivery,) = settled(org_a)
    assert (delivery["state"], delivery["attempts"], delivery["replies"]) == ("succeeded", 1, 1)


def test_a_bot_too_slow_is_retried_with_backoff_and_logged(fake_bot, sandbox, org_a, bot_a):
    fake_bot.script += [
        (200, {"replies": [{"type": "text", "text": {"body": "too late"}}]}, 2.5),
        (503, {"error": "busy"}, 0),
        (200, {"replies": [{"type": "text", "text": "Third time lucky."}], "handoff": True}, 0),
    ]
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hello bot")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Third time lucky."]
    (delivery,) = settled(org_a)
    assert (delivery["state"], delivery["attempts"], delivery["handoff"]) == ("succeeded", 3, True)
    assert len(fake_bot.received) == 3
    with in_tenant(org_a):  # the bot asked for a person
        assert ChatbotConversation.objects.get().takeover_reason == "external_bot"


def test_a_bot_that_keeps_failing_ends_failed_in_the_log(fake_bot, sandbox, org_a, bot_a):
    fake_bot.script += [(500, None, 0)] * 3
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hello bot")
    (delivery,) = settled(org_a)
    assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == (
        "failed",
        3,
        500,
    )
    assert texts(sandbox, bot_a, CUSTOMER) == []


def test_a_bot_may_answer_later_through_the_api(fake_bot, sandbox, org_a, bot_a):
    fake_bot.script.append((202, None, 0))
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "order status?")
    (delivery,) = settled(org_a)
    assert (delivery["state"], delivery["replies"]) == ("succeeded", 0)
    _, key = api_key_create(organization=org_a.organization, name="external bot", created_by=None)
    response = api_client(org_a, api_key=key).post(
        "/api/v1/messages/send/",
        {"to": CUSTOMER, "type": "text", "text": {"body": "Your order shipped."}},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Your order shipped."]
    # An integration's message is not a person taking over: the bot keeps answering.
    rule(org_a, pattern="thanks", reply={"body": "You are welcome."})
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "thanks")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 2)[-1] == "You are welcome."


def test_the_secret_is_never_returned_and_other_orgs_see_no_deliveries(
    fake_bot, sandbox, org_a, org_b, bot_a
):
    configure(org_b)
    fake_bot.script.append((200, {"replies": []}, 0))
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    settled(org_a)
    wait_turns(org_a, 1)
    body = admin_client(org_a).get("/api/v1/chatbot/settings/").content.decode()
    assert SECRET not in body
    assert deliveries(org_b) == []
    assert admin_client(org_b).get("/api/v1/chatbot/settings/").json()["external_bot_url"] == ""
