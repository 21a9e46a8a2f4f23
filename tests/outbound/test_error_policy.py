"""The one error-policy table against the sandbox's fault injection: each Meta code, answered to
a real send over HTTP and handled by the real worker, ends where the table says (and the table
is the one the status-webhook path reads too)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import messages_sweep_stale
from whatsapp.services.outbound.policy import ERROR_POLICY, Action
from whatsapp.services.ratelimit import PairBackoff, pairs_blocked
from whatsapp.services.statuses import status_apply

from .conftest import accepted_sends, customer, wait_final

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"
SEND_PATH = r"/messages$"


@pytest.fixture
def windows_off(sandbox):
    sandbox.set_window_enforcement(False)
    yield
    sandbox.set_window_enforcement(True)


@pytest.fixture(autouse=True)
def _free_pair():
    yield
    PairBackoff(phone_number_id="110000000000001", recipient=WA_ID).reset()


def create(sender, count: int = 1, wa_id: str = WA_ID, **extra) -> list[int]:
    contact = customer(sender, wa_id)
    with in_tenant(sender.org):
        return [
            OutgoingMessageFactory(
                contact=contact,
                recipient=wa_id,
                text=f"m{i}",
                phone_number_id=sender.phone_number_id,
                **extra,
            ).pk
            for i in range(count)
        ]


def send_requests(sandbox, sender) -> list[dict]:
    return [
        e
        for e in sandbox.requests(path_contains=f"/{sender.phone_number_id}/messages")
        if e["method"] == "POST"
    ]


TERMINAL = [
    (131047, "outside_customer_window"),
    (131026, "undeliverable"),
    (131030, "recipient_not_allowed"),
    (132015, "template_paused"),
    (132016, "template_disabled"),
]


@pytest.mark.parametrize(("code", "reason"), TERMINAL)
def test_terminal_codes_fail_at_once_with_a_reason_to_act_on(
    sender_a, sandbox, windows_off, celery_worker, code, reason
) -> None:
    assert ERROR_POLICY[code].action is Action.TERMINAL
    sandbox.add_fault("error_code", code=code, count=None, probability=1.0, path_regex=SEND_PATH)
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.failure_reason, message.error_code) == ("failed", reason, code)
    assert message.attempts == 1 and len(send_requests(sandbox, sender_a)) == 1
    assert message.error_message.startswith(ERROR_POLICY[code].hint)


def test_a_real_paused_template_fails_template_paused(sender_a, sandbox, celery_worker) -> None:
    waba = f"9{sender_a.phone_number_id}"
    sandbox.create_template("promo_paused", waba_id=waba, category="MARKETING", status="PAUSED")
    contact = customer(sender_a, WA_ID, window=False)
    with in_tenant(sender_a.org):
        message = OutgoingMessageFactory(
            contact=contact,
            recipient=WA_ID,
            type="template",
            text="",
            content={"name": "promo_paused", "language": {"code": "en_US"}},
            phone_number_id=sender_a.phone_number_id,
        )
    (message,) = wait_final(sender_a.org, [message.pk])
    assert (message.status, message.failure_reason, message.error_code) == (
        "failed",
        "template_paused",
        132015,
    )


def test_131050_marks_the_contact_opted_out_and_is_never_retried(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=131050, count=None, probability=1.0, path_regex=SEND_PATH)
    (message,) = wait_final(sender_a.org, create(sender_a))
    assert (message.status, message.failure_reason, message.attempts) == (
        "failed",
        "marketing_opted_out",
        1,
    )
    with in_tenant(sender_a.org):
        contact = Contact.objects.get(pk=message.contact_id)
    assert contact.opted_out_at and contact.opt_out_source == "meta_131050"
    time.sleep(0.3)
    assert len(send_requests(sandbox, sender_a)) == 1


def test_131050_in_a_failed_receipt_marks_the_contact_too(sender_a) -> None:
    contact = customer(sender_a, "447911000050", window=False)
    with in_tenant(sender_a.org):
        OutgoingMessageFactory(
            status="accepted",
            contact=contact,
            type="template",
            phone_number_id=sender_a.phone_number_id,
            wamid="wamid.OPTOUT",
        )
        status_apply(
            status={
                "id": "wamid.OPTOUT",
                "status": "failed",
                "timestamp": str(int(time.time())),
                "errors": [{"code": 131050, "title": "Unable to deliver"}],
            }
        )
        message = WhatsAppMessage.objects.get(wamid="wamid.OPTOUT")
        contact.refresh_from_db()
    assert (message.status, message.failure_reason) == ("failed", "marketing_opted_out")
    assert contact.opted_out_at is not None


def test_130429_slows_the_number_for_every_worker_and_requeues(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=130429, count=1, path_regex=SEND_PATH)
    ids = create(sender_a)
    (refused,) = wait_for(lambda: send_requests(sandbox, sender_a), timeout=10)
    assert refused["status"] == 400
    ids += create(sender_a, count=2)  # other messages of the number, sent by any worker
    messages = wait_final(sender_a.org, ids)
    assert [m.status for m in messages] == ["accepted"] * 3
    assert [m.attempts for m in messages] == [2, 1, 1]
    later = send_requests(sandbox, sender_a)[1:]
    assert len(later) == 3
    # After the 130429 the number paused ~1 s: no send for that number went out sooner.
    assert min(r["time"] for r in later) - refused["time"] >= 0.9


def test_131056_backs_the_pair_off_4_to_the_n_seconds_shared_by_workers(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=131056, count=2, path_regex=SEND_PATH)
    (first,) = create(sender_a)
    wait_for(lambda: len(send_requests(sandbox, sender_a)) >= 1, timeout=10)
    # The pair's block is in Redis for every worker: a second message to the same user waits.
    blocked = wait_for(
        lambda: pairs_blocked(phone_number_id=sender_a.phone_number_id, recipients=[WA_ID]),
        timeout=5,
    )
    assert 0 < blocked[WA_ID] <= 1.0
    messages = wait_final(sender_a.org, [first], timeout=20)
    assert messages[0].status == "accepted" and messages[0].attempts == 3
    times = [r["time"] for r in send_requests(sandbox, sender_a)]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.95  # 4^0 s
    assert times[2] - times[1] >= 3.9  # 4^1 s


def test_131049_is_deferred_24_hours_then_retried_by_the_sweeper_and_bounded(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=131049, count=1, path_regex=SEND_PATH)
    (pk,) = create(sender_a)

    def deferred() -> WhatsAppMessage | None:
        with in_tenant(sender_a.org):
            row = WhatsAppMessage.objects.get(pk=pk)
        return row if row.next_attempt_at else None

    row = wait_for(deferred, timeout=10)
    assert (row.status, row.error_code, row.attempts) == ("queued", 131049, 1)
    assert row.next_attempt_at - timezone.now() > timedelta(hours=23, minutes=59)
    with in_tenant(sender_a.org):
        swept = messages_sweep_stale(
            unconfirmed_after=timedelta(hours=1), requeue_after=timedelta(seconds=0)
        )
        assert swept["requeued"] == []  # not due: not sent sooner than 24 h
        WhatsAppMessage.objects.filter(pk=pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        swept = messages_sweep_stale(
            unconfirmed_after=timedelta(hours=1), requeue_after=timedelta(hours=1)
        )
    assert swept["requeued"] == [pk]
    (message,) = wait_final(sender_a.org, [pk])
    assert (message.status, message.attempts, message.next_attempt_at) == ("accepted", 2, None)
    assert len(accepted_sends(sandbox, sender_a.phone_number_id)) == 1


def test_131049_gives_up_after_its_bounded_attempts(
    sender_a, sandbox, windows_off, celery_worker
) -> None:
    sandbox.add_fault("error_code", code=131049, count=None, probability=1.0, path_regex=SEND_PATH)
    (pk,) = create(sender_a, attempts=2)  # as if it had been deferred twice already
    (message,) = wait_final(sender_a.org, [pk])
    assert (message.status, message.failure_reason, message.attempts) == (
        "failed",
        "marketing_limit",
        3,
    )


@pytest.mark.parametrize(
    ("code", "action", "reason"),
    [
        (130429, Action.SLOW_NUMBER, "throughput_exceeded"),
        (131056, Action.PAIR_BACKOFF, "pair_rate_limited"),
        (131049, Action.DEFER, "marketing_limit"),
        (131050, Action.OPT_OUT, "marketing_opted_out"),
        (131047, Action.TERMINAL, "outside_customer_window"),
        (190, Action.HALT, "sending_halted"),
        (131000, Action.RETRY, "retries_exhausted"),  # by family: transient
        (100, Action.TERMINAL, "meta_error"),  # by family: permanent, no row of its own
    ],
)
def test_the_table_and_the_families_pick_one_rule_per_code(code, action, reason) -> None:
    """Pure (no HTTP): the rule the sync path picks for a typed error equals the table's."""
    from whatsapp.graph.errors import error_from_error_object
    from whatsapp.services.outbound.policy import error_rule_for, error_rule_for_code

    rule = error_rule_for(error_from_error_object({"code": code, "message": "x"}))
    assert (rule.action, rule.reason) == (action, reason)
    if code in ERROR_POLICY:
        assert error_rule_for_code(code) == rule
