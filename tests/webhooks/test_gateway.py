"""The webhook gateway end to end: signed POSTs over real HTTP to the platform server, the
worker loop (`manage.py webhook_worker`'s) claiming and applying them in real PostgreSQL schemas.

Poison isolation, tenant isolation, dispatch by field, retries with backoff, SKIP LOCKED claims
and a worker killed mid-batch."""

from __future__ import annotations

import copy
import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import AccountEvent, PhoneNumber, RawWebhookEvent, WebhookChange
from tests.conftest import in_tenant, run_concurrently, wait_for
from tests.inbound import handlers as test_handlers
from tests.inbound.conftest import (
    FIXTURE_NUMBER_ID,
    FIXTURE_WABA_ID,
    OTHER_NUMBER_ID,
    OTHER_WABA_ID,
    encode,
    load,
    retarget,
)
from whatsapp.models import WhatsAppMessage
from whatsapp.webhooks.process import webhook_batch_process
from whatsapp.webhooks.receive import raw_event_store

pytestmark = pytest.mark.integration

RECORDING = "tests.inbound.handlers.recording_handler"


def wamids(org) -> set[str]:
    with in_tenant(org):
        return set(WhatsAppMessage.objects.values_list("wamid", flat=True))


def message_change(wamid: str, *, number: str, text: str = "hi", sender: str = "5511999990000"):
    """One `messages` change (Meta's shape) from `sender` to `number`."""
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": sender}],
            "messages": [
                {
                    "from": sender,
                    "id": wamid,
                    "timestamp": "1750857384",
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        },
    }


def body_of(*entries) -> dict:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def store(payload) -> int:
    """Store an event exactly as the view does (the request path, without HTTP)."""
    return raw_event_store(body=encode(payload), meta={}).id


def test_a_dead_persistent_connection_is_reconnected_once_on_the_ack_path(numbers):
    """The ack path skips Django's `SELECT 1` health check; a connection the server closed
    (restart, idle timeout) makes the upsert fail once, and the store reconnects and succeeds."""
    first = store(
        body_of(
            {
                "id": FIXTURE_WABA_ID,
                "changes": [message_change("wamid.RC1", number=FIXTURE_NUMBER_ID)],
            }
        )
    )
    old_pid = connection.connection.info.backend_pid
    with psycopg_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    second = store(
        body_of(
            {
                "id": FIXTURE_WABA_ID,
                "changes": [message_change("wamid.RC2", number=FIXTURE_NUMBER_ID)],
            }
        )
    )
    assert connection.connection.info.backend_pid != old_pid
    assert second != first
    assert RawWebhookEvent.objects.filter(id__in=[first, second]).count() == 2


def psycopg_admin():
    """A separate autocommit connection to the test database (to terminate another backend)."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


# --- Poison isolation ----------------------------------------------------------------------------
def test_hostile_changes_are_isolated_and_both_tenants_are_served(
    webhook, numbers, webhook_worker, org_a, org_b
):
    """One POST: a good message for A, a NUL- and surrogate-laden change, a non-dict change and a
    message for B. A's and B's are stored, the NUL one is stored cleaned, the bad one is set
    aside on the event with its error; nothing stays claimable."""
    poisoned = message_change(
        "wamid.NUL-1", number=FIXTURE_NUMBER_ID, text="bad\u0000text \ud800 end", sender="55110"
    )
    poisoned["value"]["contacts"][0]["profile"]["name"] = "\u0000\udfff"
    payload = body_of(
        {
            "id": FIXTURE_WABA_ID,
            "changes": [
                message_change("wamid.GOOD-A", number=FIXTURE_NUMBER_ID),
                poisoned,
                "not a change at all",
            ],
        },
        {"id": OTHER_WABA_ID, "changes": [message_change("wamid.GOOD-B", number=OTHER_NUMBER_ID)]},
    )
    assert webhook.post(payload).status_code == 200

    wait_for(lambda: {"wamid.GOOD-A", "wamid.NUL-1"} <= wamids(org_a))
    wait_for(lambda: wamids(org_b) == {"wamid.GOOD-B"})
    assert "wamid.GOOD-B" not in wamids(org_a)
    with in_tenant(org_a):
        cleaned = WhatsAppMessage.objects.get(wamid="wamid.NUL-1")
    assert cleaned.text == "bad\ufffdtext \ufffd end"
    event = RawWebhookEvent.objects.get()
    assert event.state == "routed"
    assert "entry 0 change 2: no `value` object" in event.error
    states = set(WebhookChange.objects.values_list("state", flat=True))
    assert states == {"processed"}


def _hostile_values(rng: random.Random):
    yield from ["\u0000", "\ud800", "a\udfffb", "\u0000" * 50, "x" * 70_000, "", " "]
    yield from [None, True, 0, -1, 10**30, 1.5e308, [], {}, [[["\u0000"]]], {"\u0000": "\ud800"}]
    for _ in range(10):
        yield "".join(rng.choice(["\u0000", "\ud801", "é", "a", "\n", '"', "\\"]) for _ in range(8))


def _plant(value, path: list, hostile):
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = hostile


HOSTILE_PATHS = [
    ["messages", 0, "text", "body"],
    ["messages", 0, "id"],
    ["messages", 0, "from"],
    ["messages", 0, "type"],
    ["messages", 0, "timestamp"],
    ["contacts", 0, "wa_id"],
    ["contacts", 0, "profile", "name"],
    ["metadata", "display_phone_number"],
    ["messages", 0],
    ["contacts"],
    ["metadata", "phone_number_id"],
    ["statuses"],
    ["errors"],
]


def test_generated_hostile_values_never_stall_the_queue_or_a_sibling(
    webhook, numbers, webhook_worker, org_a, org_b, settings
):
    """A seeded generator of values PostgreSQL or the parser refuses, planted at many places of
    a change; every POST also carries a clean message for B, which must always be stored."""
    settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS = 2
    settings.WHATSAPP_WEBHOOK_RETRY_BASE_DELAY = 0.01
    settings.WHATSAPP_WEBHOOK_RETRY_MAX_DELAY = 0.02
    rng = random.Random(9)
    expected_b = set()
    for index, hostile in enumerate(_hostile_values(rng)):
        change = message_change(f"wamid.HOSTILE-{index}", number=FIXTURE_NUMBER_ID)
        _plant(change["value"], rng.choice(HOSTILE_PATHS), copy.deepcopy(hostile))
        sibling = message_change(f"wamid.SIBLING-{index}", number=OTHER_NUMBER_ID)
        expected_b.add(f"wamid.SIBLING-{index}")
        payload = body_of({"id": FIXTURE_WABA_ID, "changes": [change, sibling]})
        assert webhook.post(payload).status_code == 200

    wait_for(lambda: wamids(org_b) == expected_b, timeout=30)

    def settled():
        """no event left to claim, no change left pending or due"""
        return (
            not RawWebhookEvent.objects.filter(state="received").exists()
            and not WebhookChange.objects.filter(state="pending").exists()
            and not WebhookChange.objects.filter(state="failed", next_attempt_at__isnull=False)
        )

    wait_for(settled, timeout=30)
    for change in WebhookChange.objects.filter(state="failed"):
        assert change.error and change.attempts == 2  # isolated with its error, for replay


def test_too_deeply_nested_json_is_kept_malformed_not_a_500(webhook, numbers, webhook_worker):
    body = b'{"object":"whatsapp_business_account","entry":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert webhook.post(body=body).status_code == 200
    wait_for(lambda: RawWebhookEvent.objects.get().state != "received", timeout=15)
    event = RawWebhookEvent.objects.get()
    assert event.state == "malformed" and "RecursionError" in event.error


def test_an_event_whose_routing_raises_backs_off_then_fails_for_replay(
    no_webhook_worker, numbers, org_a, settings, monkeypatch
):
    """Unit-level on the worker's batch (no HTTP): splitting is faked to raise for one event."""
    import whatsapp.webhooks.process as process

    settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS = 2
    real_split = process.split_changes

    def split(payload):
        if payload.get("poison"):
            raise RuntimeError("cannot route this")
        return real_split(payload)

    monkeypatch.setattr(process, "split_changes", split)
    bad = store({**load("message_text"), "poison": True})
    good = store(retarget(load("message_text"), phone_number_id=OTHER_NUMBER_ID, waba_id="x"))
    result = webhook_batch_process(batch_size=10)
    assert result.failed_event_ids == {bad}
    event = RawWebhookEvent.objects.get(pk=bad)
    assert (event.state, event.attempts) == ("received", 1)
    assert "RuntimeError: cannot route this" in event.error
    assert event.next_attempt_at > timezone.now()
    assert RawWebhookEvent.objects.get(pk=good).state == "routed"
    # Not claimed again before its backoff: no hot loop.
    assert webhook_batch_process(batch_size=10).events == 0
    RawWebhookEvent.objects.filter(pk=bad).update(next_attempt_at=timezone.now())
    webhook_batch_process(batch_size=10)
    event.refresh_from_db()
    assert (event.state, event.attempts, event.next_attempt_at) == ("failed", 2, None)
    assert webhook_batch_process(batch_size=10).events == 0
    monkeypatch.undo()
    from django.core.management import call_command

    call_command("replay_webhooks", "--event", str(bad))
    webhook_batch_process(batch_size=10)
    assert RawWebhookEvent.objects.get(pk=bad).state == "routed"
    assert "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYINTEXT0001" in wamids(org_a)


def test_a_failing_change_gets_a_backoff_and_is_not_claimed_again_at_once(
    no_webhook_worker, numbers, org_a, settings
):
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": "tests.inbound.handlers.broken"}
    settings.WHATSAPP_WEBHOOK_RETRY_BASE_DELAY = 60.0
    store(load("message_text"))
    result = webhook_batch_process(batch_size=10)
    assert (result.processed, result.failed) == (0, 1)
    change = WebhookChange.objects.get()
    assert (change.state, change.attempts) == ("failed", 1)
    assert change.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert webhook_batch_process(batch_size=10).claimed == 0
    WebhookChange.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": RECORDING}
    assert webhook_batch_process(batch_size=10).processed == 1
    assert WebhookChange.objects.get().state == "processed"


def test_one_failing_change_does_not_fail_its_batch_siblings(
    no_webhook_worker, numbers, org_a, settings
):
    """The batch handler raises on one change: the others are applied one by one."""
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": "tests.inbound.handlers.picky"}
    ids = [
        store(body_of({"id": "w", "changes": [message_change(f"wamid.P-{i}", number=n)]}))
        for i, n in enumerate([FIXTURE_NUMBER_ID] * 3)
    ]
    test_handlers.REFUSE.add("wamid.P-1")
    try:
        result = webhook_batch_process(batch_size=10)
    finally:
        test_handlers.REFUSE.clear()
    assert (result.events, result.processed, result.failed) == (3, 2, 1)
    failed = WebhookChange.objects.get(state="failed")
    assert failed.event_id == ids[1] and "refused" in failed.error


# --- Tenancy -------------------------------------------------------------------------------
def test_changes_are_only_ever_applied_in_their_own_tenants_schema(
    no_webhook_worker, numbers, org_a, org_b, settings
):
    """Interleaved changes of two tenants in one batch: each handler call runs in the schema of
    the organization that owns the change's number, and each tenant's schema is entered once."""
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": RECORDING}
    test_handlers.CALLS.clear()
    numbers_in_order = [FIXTURE_NUMBER_ID, OTHER_NUMBER_ID] * 4
    changes = [message_change(f"wamid.T-{i}", number=n) for i, n in enumerate(numbers_in_order)]
    store(body_of({"id": "mixed", "changes": changes[:4]}))
    store(body_of({"id": "mixed", "changes": changes[4:]}))
    result = webhook_batch_process(batch_size=10)
    assert result.processed == 8 and result.tenants == {org_a.schema, org_b.schema}
    owner = {FIXTURE_NUMBER_ID: org_a.schema, OTHER_NUMBER_ID: org_b.schema}
    assert len(test_handlers.CALLS) == 8
    for schema, _change_id, number in test_handlers.CALLS:
        assert schema == owner[number]
    schemas_in_call_order = [schema for schema, _, _ in test_handlers.CALLS]
    assert schemas_in_call_order == sorted(schemas_in_call_order)  # grouped: one switch each
    assert connection.schema_name == "public"


def test_account_events_are_recorded_for_the_owner_only(
    webhook, numbers, webhook_worker, org_a, org_b
):
    payload = body_of(
        {
            "id": FIXTURE_WABA_ID,
            "time": 1750857384,
            "changes": [
                {
                    "field": "account_update",
                    "value": {"event": "ACCOUNT_VIOLATION", "violation_info": {"x": "\u0000"}},
                },
                {
                    "field": "business_capability_update",
                    "value": {"max_daily_conversation_per_phone": 1000},
                },
            ],
        }
    )
    assert webhook.post(payload).status_code == 200
    wait_for(lambda: AccountEvent.objects.count() == 2)
    events = {e.field: e for e in AccountEvent.objects.all()}
    assert events["account_update"].event == "ACCOUNT_VIOLATION"
    assert events["account_update"].value["violation_info"] == {"x": "\ufffd"}
    assert events["business_capability_update"].value == {"max_daily_conversation_per_phone": 1000}
    assert {e.organization_id for e in events.values()} == {org_a.organization.pk}
    assert not AccountEvent.objects.filter(organization=org_b.organization).exists()
    # A replay of processed work records nothing twice.
    from whatsapp.webhooks.replay import webhook_replay

    WebhookChange.objects.update(state="failed")
    webhook_replay(states=["failed"])
    wait_for(lambda: not WebhookChange.objects.exclude(state="processed").exists())
    assert AccountEvent.objects.count() == 2


def test_phone_number_quality_updates_reach_the_number(
    webhook, numbers, webhook_worker, org_a, org_b
):
    def quality(event: str, **extra) -> dict:
        value = {"display_phone_number": "15550783881", "event": event, **extra}
        return body_of(
            {
                "id": FIXTURE_WABA_ID,
                "changes": [{"field": "phone_number_quality_update", "value": value}],
            }
        )

    assert webhook.post(quality("FLAGGED", current_limit="TIER_10K")).status_code == 200
    number = wait_for(
        lambda: (
            PhoneNumber.objects.filter(phone_number_id=FIXTURE_NUMBER_ID, quality_event="FLAGGED")
            .exclude(health_updated_at=None)
            .first()
        )
    )
    assert (number.quality_rating, number.messaging_limit_tier) == ("RED", "TIER_10K")
    other = PhoneNumber.objects.get(phone_number_id=OTHER_NUMBER_ID)
    assert (other.quality_rating, other.quality_event, other.messaging_limit_tier) == ("", "", "")
    assert webhook.post(quality("UPGRADE", current_limit="TIER_100K")).status_code == 200
    wait_for(
        lambda: PhoneNumber.objects.filter(
            phone_number_id=FIXTURE_NUMBER_ID, messaging_limit_tier="TIER_100K"
        ).exists()
    )
    number.refresh_from_db()
    assert (number.quality_event, number.quality_rating) == ("UPGRADE", "RED")


# --- Claims: batches, SKIP LOCKED, a killed worker -----------------------------------------------
def test_statements_per_batch_do_not_grow_with_the_batch(
    no_webhook_worker, numbers, org_a, org_b, settings
):
    """The gateway's own statements for a batch (the handler's excluded: it records in memory)."""
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": RECORDING}
    counts = {}
    for size in (1, 20):
        for i in range(size):
            number = (FIXTURE_NUMBER_ID, OTHER_NUMBER_ID)[i % 2]
            store(
                body_of(
                    {"id": "w", "changes": [message_change(f"wamid.S{size}-{i}", number=number)]}
                )
            )
        with CaptureQueriesContext(connection) as queries:
            result = webhook_batch_process(batch_size=size)
        assert result.processed == size
        counts[size] = len(queries.captured_queries)
    print(f"statements per batch (handler excluded): {counts}")
    # BEGIN, search_path, claim events, routing table, savepoint + INSERT changes + release,
    # mark routed, claim due retries, COMMIT: 10; then per tenant: search_path, savepoint,
    # mark processed, release. Size 1 touches one tenant, size 20 two: 14 and 18.
    assert counts[1] <= 14
    assert counts[20] <= counts[1] + 4


def test_concurrent_workers_apply_each_change_exactly_once(
    no_webhook_worker, numbers, org_a, org_b
):
    for i in range(30):
        number = (FIXTURE_NUMBER_ID, OTHER_NUMBER_ID)[i % 2]
        store(body_of({"id": "w", "changes": [message_change(f"wamid.C-{i}", number=number)]}))

    def drain() -> int:
        total = 0
        while (claimed := webhook_batch_process(batch_size=4).events) or total == 0:
            total += claimed
            if not claimed:
                break
        return total

    results = run_concurrently(drain, threads=3)
    assert sum(results) == 30
    assert len(wamids(org_a)) == 15 and len(wamids(org_b)) == 15
    assert WebhookChange.objects.count() == 30
    assert set(WebhookChange.objects.values_list("state", flat=True)) == {"processed"}
    assert set(WebhookChange.objects.values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_mid_batch_loses_nothing(no_webhook_worker, numbers, org_a, settings):
    """The worker's PostgreSQL session is terminated while its handler runs: its claim (a row
    lock) is released, nothing of the batch was committed, and the next worker applies it."""
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": "tests.inbound.handlers.blocking"}
    event_id = store(load("message_text"))
    test_handlers.BLOCK.clear()
    test_handlers.ENTERED.clear()
    outcome: list[BaseException | None] = []

    def doomed_worker() -> None:
        try:
            webhook_batch_process(batch_size=10)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=doomed_worker)
    thread.start()
    assert test_handlers.ENTERED.wait(10)
    # Claimed: another worker skips the locked row instead of waiting or applying it twice.
    assert webhook_batch_process(batch_size=10).events == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [test_handlers.BACKEND_PID[-1]])
    test_handlers.BLOCK.set()
    thread.join(10)
    assert outcome and outcome[0] is not None  # the killed worker's batch did not commit
    assert RawWebhookEvent.objects.get(pk=event_id).state == "received"
    assert not WebhookChange.objects.exists()
    settings.WHATSAPP_WEBHOOK_HANDLERS = {"messages": "whatsapp.webhooks.fields.messages_handler"}
    assert webhook_batch_process(batch_size=10).processed == 1
    assert wamids(org_a) == {"wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYINTEXT0001"}


def test_the_webhook_worker_command_drains_what_is_due_with_once(no_webhook_worker, numbers, org_a):
    from io import StringIO

    from django.core.management import call_command

    for i in range(5):
        store(
            body_of(
                {"id": "w", "changes": [message_change(f"wamid.O-{i}", number=FIXTURE_NUMBER_ID)]}
            )
        )
    out = StringIO()
    call_command("webhook_worker", "--once", "--batch", "2", stdout=out)
    assert "10 event(s)/change(s) claimed" in out.getvalue()
    assert wamids(org_a) == {f"wamid.O-{i}" for i in range(5)}
    assert not RawWebhookEvent.objects.filter(state="received").exists()


def test_a_notify_wakes_an_idle_worker_long_before_its_poll(
    no_webhook_worker, webhook, numbers, org_a
):
    """The worker polls only every 30 s here: a POST is applied within seconds because the
    request's pg_notify wakes its LISTEN."""
    import time

    from whatsapp.webhooks.worker import webhook_worker_run

    stop = threading.Event()
    listening = threading.Event()

    def run() -> None:
        try:
            webhook_batch_process(batch_size=10)  # connect, then idle in LISTEN
            listening.set()
            webhook_worker_run(stop=stop, poll_seconds=30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert listening.wait(5)
        time.sleep(0.5)  # inside its 30 s wait
        started = time.monotonic()
        assert webhook.post(load("message_text")).status_code == 200
        wait_for(lambda: wamids(org_a), timeout=10)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        with connection.cursor() as cursor:  # wake it so that it sees `stop`
            cursor.execute("SELECT pg_notify('webhook_events', '')")
        thread.join(35)
    assert not thread.is_alive()


def test_an_insert_the_database_refuses_sets_only_its_event_aside(
    no_webhook_worker, numbers, org_a, org_b, monkeypatch
):
    """Second line of defence, unit-level: the cleaning of values is faked away, so a NUL reaches
    the jsonb insert; the batch insert fails, the events are inserted one by one, and only the
    poisoned one is marked failed (with a backoff) while its batch siblings are applied."""
    import whatsapp.webhooks.route as route

    monkeypatch.setattr(route, "json_clean", lambda value: value)
    good = store(
        body_of({"id": "w", "changes": [message_change("wamid.OK", number=OTHER_NUMBER_ID)]})
    )
    bad = store(
        body_of(
            {
                "id": "w",
                "changes": [message_change("wamid.NUL", number=FIXTURE_NUMBER_ID, text="\u0000")],
            }
        )
    )
    result = webhook_batch_process(batch_size=10)
    assert result.failed_event_ids == {bad}
    assert wamids(org_b) == {"wamid.OK"}
    assert wamids(org_a) == set()
    event = RawWebhookEvent.objects.get(pk=bad)
    assert (event.state, event.attempts) == ("received", 1)
    assert event.next_attempt_at > timezone.now()
    assert RawWebhookEvent.objects.get(pk=good).state == "routed"
    assert not WebhookChange.objects.filter(event_id=bad).exists()


@pytest.mark.django_db
def test_the_previous_releases_insert_still_works_during_a_deploy():
    """The web processes of the release before this one insert raw events and numbers without
    the new columns: database defaults fill them (no NOT NULL violation, no lost webhook)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.tenants_rawwebhookevent "
            "(body, body_sha256, headers, state, error, received_at, deliveries) "
            "VALUES ('{}', 'x', '{}', 'received', '', now(), 1) RETURNING attempts"
        )
        assert cursor.fetchone() == (0,)
        cursor.execute(
            "INSERT INTO public.tenants_phonenumber (phone_number_id, organization_id, waba_id, "
            "display_number, messages_per_second, connected_at) "
            "SELECT 'old-1', id, 'w', '+1', 80, now() FROM public.tenants_organization LIMIT 1 "
            "RETURNING quality_rating, quality_event, messaging_limit_tier"
        )
        assert cursor.fetchone() == ("", "", "")
