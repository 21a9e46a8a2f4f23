"""Faults injected in the sandbox (5xx bursts, connection errors, timeouts before and after
Meta accepted, throughput and pair-rate errors, permanent errors, token expiry): every message
ends sent exactly once (one accepted request carrying its client_reference) or failed with a
reason, and none stays queued/sending. Real worker, real HTTP, committed rows."""

from __future__ import annotations

import socket
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import WhatsAppCredential
from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import messages_sweep_stale

from .conftest import TOKENS, accepted_sends, customer, wait_final

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"
SEND_PATH = r"/messages$"


def create(sender, count: int = 1, body: str = "Hi") -> list[int]:
    contact = customer(sender, WA_ID)
    with in_tenant(sender.org):
        return [
            OutgoingMessageFactory(
                contact=contact, text=f"{body} {i}", phone_number_id=sender.phone_number_id
            ).pk
            for i in range(count)
        ]


def accepted_per_reference(sandbox, sender) -> Counter:
    return Counter(
        e["body"]["biz_opaque_callback_data"]
        for e in accepted_sends(sandbox, sender.phone_number_id)
    )


def assert_exactly_once_or_failed(sandbox, sender, messages) -> None:
    accepted = accepted_per_reference(sandbox, sender)
    for message in messages:
        assert message.status in {"accepted", "failed"}, message
        reference = str(message.client_reference)
        if message.status == "accepted":
            assert accepted[reference] == 1, message
            assert message.wamid
        elif message.failure_reason == "send_unconfirmed":
            assert accepted[reference] <= 1  # Meta may have it; never sent twice
        else:
            assert message.failure_reason and accepted[reference] == 0, message


@pytest.fixture
def windows_off(sandbox):
    sandbox.set_window_enforcement(False)
    yield
    sandbox.set_window_enforcement(True)


def test_a_5xx_burst_is_retried_and_sent_exactly_once(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("http_5xx", count=2, path_regex=SEND_PATH, status=503)
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.attempts) == ("accepted", 3)
    assert_exactly_once_or_failed(sandbox, sender_a, [message])


def test_5xx_that_never_ends_fails_after_the_bounded_attempts(
    sender_a, sandbox, windows_off, celery_worker, settings
) -> None:
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 3
    sandbox.add_fault("http_5xx", probability=1.0, path_regex=SEND_PATH, status=500)
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.failure_reason, message.attempts) == (
        "failed",
        "retries_exhausted",
        3,
    )
    assert message.error_code == 1 and message.error_message


@pytest.mark.parametrize(("code", "attempts"), [(130429, 3), (131056, 2)])
def test_throughput_and_pair_rate_errors_back_off_and_retry(
    sender_a, sandbox, windows_off, celery_worker, code, attempts
) -> None:
    sandbox.add_fault("error_code", code=code, count=attempts - 1, path_regex=SEND_PATH)
    started = time.monotonic()
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.attempts) == ("accepted", attempts)
    assert time.monotonic() - started >= 1.0 * (attempts - 1)  # Meta's retry-after honoured
    assert_exactly_once_or_failed(sandbox, sender_a, [message])


def test_a_permanent_error_fails_at_once_with_metas_code(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=131021, path_regex=SEND_PATH)
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.failure_reason, message.error_code, message.attempts) == (
        "failed",
        "meta_error",  # a permanent code without a row of its own in the policy table
        131021,
        1,
    )
    assert message.error_message


def test_meta_refusing_a_free_form_message_outside_the_window_is_permanent(
    sender_a, sandbox, celery_worker
) -> None:
    # Our record says the window is open, Meta's does not (it never saw the customer write).
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.error_code) == ("failed", 131047)


def test_a_connection_error_before_sending_is_retried(
    sender_a, sandbox, windows_off, celery_worker, settings
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    real = settings.WHATSAPP_GRAPH_URL
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.3
    settings.WHATSAPP_GRAPH_URL = closed
    (message_id,) = create(sender_a)

    def retried() -> bool:
        with in_tenant(sender_a.org):
            row = WhatsAppMessage.objects.get(pk=message_id)
        return row.attempts >= 1 and row.status == "queued"

    wait_for(retried, interval=0.01)
    settings.WHATSAPP_GRAPH_URL = real
    (message,) = wait_final(sender_a.org, [message_id])
    assert message.status == "accepted" and message.attempts >= 2
    assert_exactly_once_or_failed(sandbox, sender_a, [message])


@pytest.mark.parametrize("kind", ["timeout", "timeout_after_accept", "drop"])
def test_a_timeout_after_the_request_was_sent_is_never_resent(
    sender_a, sandbox, windows_off, celery_worker, settings, kind
) -> None:
    """At-most-once: the row stays `sending` (a status webhook may still settle it), then the
    sweeper fails it `send_unconfirmed`. Whether Meta had accepted it or not, it went once."""
    settings.WHATSAPP_GRAPH_TIMEOUT = 0.5
    sandbox.add_fault(kind, count=1, seconds=1.0, path_regex=SEND_PATH)
    (message_id,) = create(sender_a)

    def unconfirmed() -> bool:
        with in_tenant(sender_a.org):
            row = WhatsAppMessage.objects.get(pk=message_id)
        return row.status == "sending" and row.attempts == 1

    wait_for(unconfirmed)
    time.sleep(0.7)  # longer than the client timeout: the task has given up on the call
    with in_tenant(sender_a.org):
        row = WhatsAppMessage.objects.get(pk=message_id)
        assert (row.status, row.attempts) == ("sending", 1)  # not retried
        swept = messages_sweep_stale(
            unconfirmed_after=timedelta(seconds=0), requeue_after=timedelta(hours=1)
        )
    assert swept["failed"] == [message_id]
    (message,) = wait_final(sender_a.org, [message_id])
    assert (message.status, message.failure_reason) == ("failed", "send_unconfirmed")
    accepted = accepted_per_reference(sandbox, sender_a)[str(message.client_reference)]
    assert accepted == (1 if kind == "timeout_after_accept" else 0)


def test_a_token_rejected_mid_send_is_refreshed_once_and_the_message_sent_once(
    sender_a, sandbox, windows_off, celery_worker, caplog
) -> None:
    sandbox.add_fault("error_code", code=190, subcode=463, count=1, path_regex=SEND_PATH)
    before = WhatsAppCredential.objects.get(organization=sender_a.org.organization).fingerprint
    (message,) = wait_final(sender_a.org, create(sender_a, body="Secret body"))
    assert (message.status, message.attempts) == ("accepted", 1)
    assert_exactly_once_or_failed(sandbox, sender_a, [message])
    sends = [e for e in sandbox.requests(path_contains="/messages") if e["method"] == "POST"]
    assert [e["status"] for e in sends] == [401, 200]
    assert len(sandbox.requests(path_contains="oauth/access_token")) == 1
    credential = WhatsAppCredential.objects.get(organization=sender_a.org.organization)
    assert credential.state == "valid" and credential.fingerprint != before
    assert TOKENS["alpha"] not in caplog.text and "Secret body" not in caplog.text


def test_a_failed_refresh_halts_the_orgs_sending_with_a_reason(
    sender_a, sender_b, sandbox, windows_off, celery_worker, caplog
) -> None:
    sandbox.expire_token(TOKENS["alpha"])
    (first,) = wait_final(sender_a.org, create(sender_a))
    assert (first.status, first.failure_reason) == ("failed", "sending_halted")
    credential = WhatsAppCredential.objects.get(organization=sender_a.org.organization)
    assert credential.state == "invalid"
    requests_before = len(sandbox.requests())
    (second,) = wait_final(sender_a.org, create(sender_a))
    assert (second.status, second.failure_reason) == ("failed", "sending_halted")
    assert len(sandbox.requests()) == requests_before  # halted: Meta is not even asked
    # The other organization is not affected.
    (other,) = wait_final(sender_b.org, create(sender_b))
    assert other.status == "accepted"
    assert TOKENS["alpha"] not in caplog.text


def test_mixed_faults_under_load_leave_nothing_stuck(
    sender_a, sandbox, windows_off, celery_worker, settings
) -> None:
    settings.WHATSAPP_GRAPH_TIMEOUT = 0.5
    sandbox.add_fault("http_5xx", probability=0.2, path_regex=SEND_PATH)
    sandbox.add_fault("error_code", code=130429, probability=0.1, path_regex=SEND_PATH)
    sandbox.add_fault("timeout_after_accept", probability=0.05, seconds=0.8, path_regex=SEND_PATH)
    sandbox.add_fault("drop", probability=0.05, path_regex=SEND_PATH)
    ids = create(sender_a, count=30)

    def quiet() -> bool:
        with in_tenant(sender_a.org):
            rows = list(WhatsAppMessage.objects.filter(pk__in=ids))
        limit = timezone.now() - timedelta(seconds=1)
        return all(
            r.status in {"accepted", "failed"}
            or (r.status == "sending" and r.last_attempt_at < limit)
            for r in rows
        )

    wait_for(quiet, timeout=30)
    with in_tenant(sender_a.org):
        messages_sweep_stale(
            unconfirmed_after=timedelta(seconds=1), requeue_after=timedelta(hours=1)
        )
    messages = wait_final(sender_a.org, ids)
    assert_exactly_once_or_failed(sandbox, sender_a, messages)
    assert sum(m.status == "accepted" for m in messages) >= 20
