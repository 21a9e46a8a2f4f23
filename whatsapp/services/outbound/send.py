"""`messages_send`: the one sending pipeline (see the package docstring for the choices).

A task hands it a batch of ids. Rows still `queued` are loaded in one query and prepared (the
checks that need no Meta call); then, per sending number, slots of the number's shared limiter
are reserved for a chunk in one Redis call, the chunk is claimed with one conditional
`UPDATE ... RETURNING` (only `queued` rows: a duplicated task cannot send twice) and each
message is sent at its slot. The slots are known before the first request leaves, so the
chunk's requests can later be sent concurrently inside a worker without changing the claim.
Errors follow the one table in `whatsapp.services.outbound.policy`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from saas_platform.metrics import send_answered
from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, PhoneNumber
from whatsapp.errors import WhatsAppDomainError
from whatsapp.graph.errors import GraphAuthError, GraphError, GraphTimeoutError
from whatsapp.graph.retry import RetryPolicy
from whatsapp.graph.types import SentMessage
from whatsapp.models import PendingStatus, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.contacts import contact_wa_id_confirm
from whatsapp.services.media_upload import media_upload_to_meta
from whatsapp.services.meta_access import (
    access_token_get,
    access_token_refresh,
    graph_client_for_org,
    graph_client_for_token,
    sending_halt,
)
from whatsapp.services.outbound.create import media_record_referenced
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.fence import fence_claim_many, fence_forget, fence_key
from whatsapp.services.outbound.policy import (
    Action,
    ErrorRule,
    contact_opt_out_marketing,
    error_rule_for,
)
from whatsapp.services.outbound.pool import NotPosted, post_at_slot
from whatsapp.services.outbound.rules import (
    CUSTOMER_WINDOW,
    MEDIA_TYPES,
    PENDING_UPLOAD_ID,
    FailureReason,
    Status,
    current_organization,
    message_payload,
    recipient_normalize,
    sending_number_for,
    window_check,
)
from whatsapp.services.ratelimit import (
    PairBackoff,
    Reservation,
    SendRateLimiter,
    limiter_for_number,
    number_messages_per_second,
    pairs_blocked,
)
from whatsapp.services.statuses import pending_statuses_apply

logger = logging.getLogger(__name__)

# Slots reserved (and rows claimed) per Redis call and UPDATE; the limiter bounds it further to
# the slots at most WHATSAPP_RATE_LIMIT_MAX_WAIT ahead.
CHUNK = 100
# Seconds a task's thread waits in all for a busy number's slots before it enqueues the rest
# of its batch again (a campaign on a 20/s number must not hold every worker thread asleep).
TASK_WAIT = 20.0
DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected
# Seconds at most a task's thread waits before it asks a busy number's limiter again.
REFUSED_POLL = 0.25
# Seconds before the number's first free slot that a task giving up comes back (at least the
# time to load and claim its rows again).
RETURN_LEAD = 1.0
# Answers settled together (one UPDATE) while the task's thread still has slots to reserve.
SETTLE_BATCH = 50


@dataclass(frozen=True)
class SendOutcome:
    """What became of one message: `retry_in` seconds → enqueued again; otherwise done."""

    result: str  # accepted | failed | retry | deferred | unconfirmed | skipped
    retry_in: float | None = None


@dataclass
class _Ready:
    message: WhatsAppMessage
    number: PhoneNumber
    payload: dict


def send_retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.WHATSAPP_SEND_MAX_ATTEMPTS,
        base_delay=settings.WHATSAPP_SEND_RETRY_BASE_DELAY,
        max_delay=settings.WHATSAPP_SEND_RETRY_MAX_DELAY,
    )


def _live(message_id: int, *statuses: str):
    return WhatsAppMessage.objects.filter(pk=message_id, status__in=statuses)


def message_fail(message_id: int, *, reason: str, message: str, code: int | None = None,
          title: str = "") -> bool:  # fmt: skip
    """Mark failed unless a receipt already settled the row (STATUS_RANK)."""
    updated = _live(message_id, Status.QUEUED, Status.SENDING).update(
        status=Status.FAILED,
        failed_at=timezone.now(),
        failure_reason=reason,
        error_code=code,
        error_title=(title or "")[:255],
        error_message=message[:2000],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    logger.warning("outbound message failed: id=%s reason=%s code=%s", message_id, reason, code)
    return bool(updated)


def _mark_accepted(message: WhatsAppMessage, sent: SentMessage) -> None:
    """Meta's 200 for one message (see `_mark_accepted_many`)."""
    _mark_accepted_many([(message, sent)])


def _mark_accepted_many(answers: list[tuple[WhatsAppMessage, SentMessage]]) -> None:
    """Meta's 200s: `accepted` with the wamid, `accepted_at` and Meta's `message_status`, in
    one `UPDATE ... FROM (VALUES ...)` for the rows still `queued`/`sending`. Not `sent`: that
    is a status webhook (`sent_at` is its time)."""
    if not answers:
        return
    now = timezone.now()
    table = connection.ops.quote_name(WhatsAppMessage._meta.db_table)
    values = ", ".join(["(%s::bigint, %s, %s)"] * len(answers))
    params: list[object] = []
    for message, sent in answers:
        params += [message.pk, sent.wamid or None, (sent.message_status or "")[:40]]
    sql = (
        f"UPDATE {table} AS m SET status = %s, wamid = v.wamid, accepted_at = %s, "  # noqa: S608 - the table name is ours, values are parameters
        "message_status = v.message_status, failure_reason = '', error_code = NULL, "
        "error_title = '', error_message = '', updated_at = %s "
        f"FROM (VALUES {values}) AS v (id, wamid, message_status) "
        "WHERE m.id = v.id AND m.status IN (%s, %s) RETURNING m.id"
    )
    with connection.cursor() as cursor:
        _execute_retrying_deadlock(
            cursor, sql, [Status.ACCEPTED, now, now, *params, Status.QUEUED, Status.SENDING]
        )
        updated = {row[0] for row in cursor.fetchall()}
    for message, sent in answers:
        if message.pk not in updated:
            _fill_accepted(message, sent, now=now)
        contact_wa_id_confirm(
            contact_id=message.contact_id, wa_id=sent.wa_id or "", known_wa_id=message.contact.wa_id
        )
    # A receipt finds our row by client_reference (committed before the call), so receipts are
    # parked only in odd cases; look (one query) before taking the row locks applying them needs.
    wamids = [sent.wamid for _, sent in answers if sent.wamid]
    references = {str(message.client_reference): message.pk for message, _ in answers}
    by_wamid = {sent.wamid: message.pk for message, sent in answers if sent.wamid}
    parked = PendingStatus.objects.filter(
        Q(wamid__in=wamids) | Q(callback_data__in=list(references))
    ).values_list("wamid", "callback_data")
    for message_id in {by_wamid.get(w) or references.get(c) for w, c in parked} - {None}:
        pending_statuses_apply(message_id=message_id)
    logger.info("outbound messages accepted: %d (ids %s..%s)", len(answers),
                answers[0][0].pk, answers[-1][0].pk)  # fmt: skip


def _execute_retrying_deadlock(cursor, sql: str, params: list, *, attempts: int = 3) -> None:
    """Run one multi-row UPDATE, again if PostgreSQL broke a deadlock by cancelling it: a batch
    of status receipts for the same rows (`statuses_apply_set`, which locks in id order) can
    meet it in the other order. The statement is idempotent (it only moves rows still
    `queued`/`sending`); locking the rows in id order first would cost a lock write per row on
    every batch for a race that is rare."""
    for attempt in range(1, attempts + 1):
        try:
            # In a caller's transaction a savepoint keeps it usable; in autocommit the failed
            # statement left nothing behind.
            inside = connection.in_atomic_block
            with transaction.atomic() if inside else contextlib.nullcontext():
                cursor.execute(sql, params)
            return
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK or attempt == attempts:
                raise
            logger.info("outbound answers: deadlock with a receipt batch, again (%d)", attempt)


def _fill_accepted(message: WhatsAppMessage, sent: SentMessage, *, now) -> None:
    """A status webhook got here first: keep its status, add what the 200 told us."""
    meta_status = (sent.message_status or "")[:40]
    fill = {"accepted_at": Coalesce(F("accepted_at"), Value(now)), "updated_at": now}
    if meta_status:
        fill["message_status"] = Value(meta_status)
    WhatsAppMessage.objects.filter(pk=message.pk).update(**fill)
    if sent.wamid:
        WhatsAppMessage.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=sent.wamid)


def _halt(organization: Organization, message_id: int, error: Exception) -> None:
    reason = f"token rejected by Meta: {error}"
    if not isinstance(error, CredentialInvalidError | CredentialMissingError):
        sending_halt(org_id=str(organization.org_id), reason=reason)
    message_fail(
        message_id,
        reason=FailureReason.SENDING_HALTED,
        code=getattr(error, "code", None),
        message="Sending is halted for this organization: its WhatsApp access token is invalid "
        "and could not be refreshed. Connect a new token to resume.",
    )


class _Access:
    """The organization's token, read once for the batch in the task's thread (the pool's
    threads never touch the database), and a client that sends with it."""

    def __init__(self, *, org_id: str) -> None:
        self.org_id = org_id
        self.token = access_token_get(org_id=org_id)
        self.client = graph_client_for_token(self.token)

    def refresh(self) -> None:
        """Meta rejected the token (190): refresh it once (raises CredentialInvalidError)."""
        self.token = access_token_refresh(org_id=self.org_id, stale_token=self.token)
        self.client = graph_client_for_token(self.token)


def messages_send(*, message_ids: Sequence[int]) -> dict[int, SendOutcome]:
    """Send the batch's outgoing messages that are still `queued`, and settle each one.

    Returns each id's outcome. Never raises for Meta's or the messages' errors: they end in the
    rows' states. Messages that must be tried again are enqueued again here
    (`messages_enqueue` with their countdown); deferred ones (131049) wait for the sweeper.
    Per batch, not per message: the rows (one query), the sending numbers, the 24-hour windows
    (one query per number), the organization's token (one read).
    """
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    outcomes: dict[int, SendOutcome] = dict.fromkeys(ids, SendOutcome("skipped"))
    now = timezone.now()
    rows = list(
        WhatsAppMessage.objects.select_related("contact")
        .filter(pk__in=ids, direction=WhatsAppMessage.Direction.OUTGOING, status=Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
    )
    if not rows:
        return outcomes
    organization = current_organization()
    client = graph_client_for_org(str(organization.org_id))
    batch = _Batch(organization=organization)
    batch.resolve_numbers(rows)
    batch.find_open_windows(rows, now=now)
    by_number: dict[str, list[_Ready]] = defaultdict(list)
    for message in rows:
        ready = _ready(client, batch, message)
        if isinstance(ready, SendOutcome):
            outcomes[message.pk] = ready
        else:
            by_number[ready.number.phone_number_id].append(ready)
    if by_number:
        try:
            access = _Access(org_id=str(organization.org_id))
        except (CredentialInvalidError, CredentialMissingError) as exc:
            for items in by_number.values():
                for item in items:
                    _halt(organization, item.message.pk, exc)
                    outcomes[item.message.pk] = SendOutcome("failed")
            by_number = {}
        for items in by_number.values():
            outcomes.update(_send_for_number(client, access, organization, items))
    _enqueue_retries(outcomes)
    return outcomes


def message_send(*, message_id: int) -> SendOutcome:
    """`messages_send` for one message; returns its outcome."""
    return messages_send(message_ids=[message_id])[message_id]


class _Batch:
    """What the messages of one batch share: their sending numbers and open 24-hour windows,
    each read once for the batch."""

    def __init__(self, *, organization: Organization) -> None:
        self.organization = organization
        self.numbers: dict[str, PhoneNumber | WhatsAppDomainError] = {}
        self.open_windows: set[tuple[int, str]] = set()  # (contact id, phone_number_id)

    def number_for(self, phone_number_id: str) -> PhoneNumber:
        """`sending_number_for`, remembered per requested id (its errors too)."""
        if phone_number_id not in self.numbers:
            try:
                self.numbers[phone_number_id] = sending_number_for(
                    organization=self.organization, phone_number_id=phone_number_id or None
                )
            except WhatsAppDomainError as exc:
                self.numbers[phone_number_id] = exc
        found = self.numbers[phone_number_id]
        if isinstance(found, WhatsAppDomainError):
            raise found
        return found

    def resolve_numbers(self, rows: list[WhatsAppMessage]) -> None:
        for phone_number_id in {m.phone_number_id or "" for m in rows}:
            with contextlib.suppress(WhatsAppDomainError):
                self.number_for(phone_number_id)

    def find_open_windows(self, rows: list[WhatsAppMessage], *, now) -> None:
        """The (contact, number) pairs whose 24-hour window is open by the contact's own recent
        message to that number, in one query per sending number. That settles the common case
        exactly (`customer_window_open` answers True for it whatever the contact's other wa_id
        forms); `window_check` decides every other message."""
        cutoff = now - CUSTOMER_WINDOW
        wanted: dict[str, set[int]] = defaultdict(set)
        for message in rows:
            contact = message.contact
            found = self.numbers.get(message.phone_number_id or "")
            if (
                message.type != "template"
                and isinstance(found, PhoneNumber)
                and contact.last_inbound_at is not None
                and contact.last_inbound_at > cutoff
            ):
                wanted[found.phone_number_id].add(contact.pk)
        for phone_number_id, contact_ids in wanted.items():
            open_ids = WhatsAppMessage.objects.filter(
                contact_id__in=contact_ids,
                phone_number_id=phone_number_id,
                direction=WhatsAppMessage.Direction.INCOMING,
                timestamp__gt=cutoff,
            ).values_list("contact_id", flat=True)
            self.open_windows.update((pk, phone_number_id) for pk in set(open_ids))


def _ready(client, batch: _Batch, message: WhatsAppMessage) -> _Ready | SendOutcome:
    """Prepare one message (upload its stored file first); an outcome when it cannot be sent."""
    organization = batch.organization
    try:
        number, payload = _prepare(batch, message)
    except WhatsAppDomainError as exc:
        message_fail(message.pk, reason=exc.code, message=exc.message)
        return SendOutcome("failed")
    media = getattr(message, "media", None) if message.type in MEDIA_TYPES else None
    if media is not None and media.state == WhatsAppMedia.State.STORED and not media.media_id:
        outcome = _upload(client, organization, number, message, media)
        if outcome is not None:
            return outcome
        number, payload = _prepare(batch, message)
    return _Ready(message=message, number=number, payload=payload)


def _send_for_number(client, access: _Access, organization: Organization, items: list[_Ready]):
    """Send one number's messages at its limiter's slots, claiming them chunk by chunk.

    The task's thread reserves slots (one Redis call per chunk), claims the chunk (one UPDATE)
    and hands the requests to the pool (`whatsapp.services.outbound.pool`), then reserves the
    next chunk while they are on the wire; answers are settled in batches as they come back.
    When the number is busy the thread waits for slots at most TASK_WAIT seconds in all; the
    rest of the batch is then enqueued again to come back later.
    """
    number = items[0].number
    outcomes: dict[int, SendOutcome] = {}
    blocked = pairs_blocked(
        phone_number_id=number.phone_number_id, recipients=[_recipient_of(i) for i in items]
    )
    queue: list[_Ready] = []
    for item in items:
        wait = blocked.get(_recipient_of(item), 0.0)
        if wait > 0:
            # The pair is backing off after a 131056: come back when its block ends.
            outcomes[item.message.pk] = SendOutcome("retry", retry_in=wait)
        else:
            queue.append(item)
    limiter = limiter_for_number(
        phone_number_id=number.phone_number_id,
        messages_per_second=number_messages_per_second(number),
    )
    max_wait = float(settings.WHATSAPP_RATE_LIMIT_MAX_WAIT)
    give_up_at = time.monotonic() + TASK_WAIT
    in_flight: dict[Future, tuple[_Ready, Reservation]] = {}
    while queue:
        slots = limiter.reserve_many(count=min(len(queue), CHUNK), max_wait=max_wait)
        if not slots[0].granted:
            retry_in = slots[0].wait
            if time.monotonic() + retry_in < give_up_at:
                # The number is busy for a moment: settle what came back meanwhile, then retry.
                # Not later than REFUSED_POLL: a refusal because a second's worth of slots is
                # booked says "about 1 s", just when those slots run out (a hole at Meta).
                _settle(access, organization, limiter, in_flight, outcomes,
                        timeout=min(retry_in, REFUSED_POLL))  # fmt: skip
                continue
            # The number's queue is long (a campaign): come back while its booked slots still
            # last. Tasks that started together give up together, and if all of them came back
            # only when the schedule had drained, the number would idle until they had loaded
            # their rows again (measured: a 1.1 s hole at 80/s).
            back_in = max(retry_in - RETURN_LEAD, 0.1)
            for item in queue:
                outcomes[item.message.pk] = SendOutcome("retry", retry_in=back_in)
            break
        chunk, queue = queue[: len(slots)], queue[len(slots) :]
        # The fence keys are marked `claimed` BEFORE the claim: the claim's UPDATE commits on
        # the server even if this worker dies before reading its answer, and a claimed row
        # without its key could never be taken back. A claim makes attempts + 1.
        expected = {item.message.pk: (item.message.attempts or 0) + 1 for item in chunk}
        _fence_claim([_fence_of(item, attempt=expected[item.message.pk]) for item in chunk])
        claimed = _claim([item.message.pk for item in chunk])
        limiter.cancel(s for i, s in zip(chunk, slots, strict=False) if i.message.pk not in claimed)
        mine = [
            (item, slot)
            for item, slot in zip(chunk, slots, strict=False)
            if item.message.pk in claimed
        ]  # fmt: skip  (the others: another task has them)
        for item, _slot in mine:
            item.message.attempts = claimed[item.message.pk]
        # A row changed since it was read (another claim between): mark its real attempt too.
        _fence_claim(
            [_fence_of(item) for item, _slot in mine
             if item.message.attempts != expected[item.message.pk]]
        )  # fmt: skip
        for item, slot in mine:
            future = post_at_slot(
                client=access.client,
                limiter=limiter,
                slot=slot,
                phone_number_id=item.number.phone_number_id,
                payload=item.payload,
                fence=_fence_of(item),
            )
            in_flight[future] = (item, slot)
        _settle(access, organization, limiter, in_flight, outcomes, timeout=0)
    _settle(access, organization, limiter, in_flight, outcomes, timeout=None)
    return outcomes


def _settle(access, organization, limiter, in_flight, outcomes, *, timeout: float | None) -> None:
    """Settle the answers that are in: all of them with `timeout=None`; with 0 only once there
    are SETTLE_BATCH of them (one UPDATE each); else wait at most `timeout` seconds for one."""
    if not in_flight:
        if timeout:
            time.sleep(timeout)
        return
    if timeout is None:
        done = list(in_flight)
        futures_wait(done)
    elif timeout == 0:
        done = [future for future in in_flight if future.done()]
        if len(done) < SETTLE_BATCH:
            return
    else:
        done, _ = futures_wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:
            return
    accepted: list[tuple[WhatsAppMessage, SentMessage]] = []
    stored: list[_Ready] = []  # answers whose outcome is written below (their fence can go)
    for future in done:
        item, _slot = in_flight.pop(future)
        result = future.result()
        if isinstance(result, SentMessage):
            accepted.append((item.message, result))
            outcomes[item.message.pk] = SendOutcome("accepted")
            stored.append(item)
            send_answered(outcome="accepted", error_code=None)
        elif isinstance(result, NotPosted):
            outcomes[item.message.pk] = _not_posted(item, result)
        else:
            outcome = _answer_error(access, organization, limiter, item, result)
            outcomes[item.message.pk] = outcome
            if outcome.result != "unconfirmed":
                stored.append(item)
            send_answered(outcome=outcome.result, error_code=getattr(result, "code", None))
    _mark_accepted_many(accepted)
    # Only now (the outcomes are committed): a row still `sending` keeps its `posted` marker.
    try:
        fence_forget([_fence_of(item) for item in stored])
    except redis.RedisError:  # the keys expire (fence_ttl); they only cost memory meanwhile
        logger.warning("send fence: %d key(s) left to expire", len(stored))


def _fence_claim(keys: list[str]) -> None:
    """Mark the chunk's fence keys `claimed` where they are missing (one Redis call). Without
    the mark (Redis did not answer) recovery can never take these claims back: the requests
    still go out when the pool can mark them `posted`, and a claim whose worker dies stays for
    the unconfirmed sweep. A key of a claim this task then loses is left to expire."""
    if not keys:
        return
    try:
        fence_claim_many(keys)
    except redis.RedisError:
        logger.warning("send fence: %d claim(s) not marked; not reclaimable if lost", len(keys))


def _fence_of(item: _Ready, *, attempt: int | None = None) -> str:
    return fence_key(
        client_reference=item.message.client_reference,
        attempt=item.message.attempts if attempt is None else attempt,
    )


def _not_posted(item: _Ready, result: NotPosted) -> SendOutcome:
    """No request was written for a claimed row: recovery took it back (`revoked`: it is no
    longer ours, nothing to write), or the fence could not be marked (the row is still ours:
    back to `queued`, tried again in a second)."""
    if result.reason == "revoked":
        logger.info("outbound message %s: claim revoked by recovery before it was sent",
                    item.message.pk)  # fmt: skip
        return SendOutcome("skipped")
    # The attempt stays counted: its number names a fence key that may exist.
    _live(item.message.pk, Status.SENDING).update(status=Status.QUEUED, updated_at=timezone.now())
    return SendOutcome("retry", retry_in=1.0)


def _answer_error(access: _Access, organization, limiter, item: _Ready, error: Exception):
    """One request of the pool failed: apply the policy (in the task's thread)."""
    message = item.message
    if isinstance(error, GraphAuthError) and error.code == 190:
        # The batch's token was rejected: refresh it once (concurrent refreshes make one
        # exchange) and send again, at a slot of its own; a second 190 halts (policy).
        try:
            access.refresh()
        except (CredentialInvalidError, CredentialMissingError) as exc:
            _halt(organization, message.pk, exc)
            return SendOutcome("failed")
        slot = limiter.acquire(max_wait=float(settings.WHATSAPP_RATE_LIMIT_MAX_WAIT) + 1.0)
        if not slot.granted:  # the number is busy: the next attempt uses the new token
            _requeue(message, error)
            return SendOutcome("retry", retry_in=slot.wait)
        try:
            sent = access.client.send_message(item.number.phone_number_id, item.payload)
        except Exception as exc:  # classified below like a first answer
            error = exc
        else:
            _mark_accepted(message, sent)
            return SendOutcome("accepted")
        finally:
            limiter.release([slot])
    if isinstance(error, GraphTimeoutError) and error.maybe_delivered:
        logger.warning(
            "outbound message unconfirmed (timeout after the request was sent): id=%s; "
            "left in sending for a status webhook or the sweeper",
            message.pk,
        )
        return SendOutcome("unconfirmed")
    if isinstance(error, CredentialInvalidError | CredentialMissingError):
        _halt(organization, message.pk, error)
        return SendOutcome("failed")
    if isinstance(error, GraphError):
        return _on_error(organization, limiter, item, error)
    logger.error(
        "outbound message: unexpected %s while sending id=%s; left in sending for a status "
        "webhook or the sweeper",
        type(error).__name__,
        message.pk,
    )
    return SendOutcome("unconfirmed")


def _claim(ids: list[int]) -> dict[int, int]:
    """Record the attempt of every still-queued row of `ids` in one statement, committed before
    Meta hears of them. Returns {id: attempts} of the rows this call claimed."""
    now = timezone.now()
    table = connection.ops.quote_name(WhatsAppMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, last_attempt_at = %s, "  # noqa: S608 - the table name is ours, values are parameters
            "updated_at = %s, next_attempt_at = NULL "
            "WHERE id = ANY(%s) AND status = %s RETURNING id, attempts",
            [Status.SENDING, now, now, ids, Status.QUEUED],
        )
        return dict(cursor.fetchall())


def _on_error(
    organization: Organization, limiter: SendRateLimiter, item: _Ready, error: GraphError
) -> SendOutcome:
    """Apply the error-policy table (whatsapp.services.outbound.policy) to one failed send."""
    message = item.message
    rule = error_rule_for(error)
    if rule.action is Action.HALT:
        _halt(organization, message.pk, error)
        return SendOutcome("failed")
    if rule.action is Action.OPT_OUT:
        contact_opt_out_marketing(contact_id=message.contact_id, source=f"meta_{error.code}")
        return _fail_by_rule(message, rule, error)
    if rule.action is Action.TERMINAL:
        return _fail_by_rule(message, rule, error)
    if rule.action is Action.DEFER:
        if message.attempts >= (rule.max_attempts or 1):
            return _fail_by_rule(message, rule, error)
        _requeue(message, error, next_attempt_at=timezone.now() + timedelta(seconds=rule.delay))
        logger.info("outbound message deferred: id=%s code=%s", message.pk, error.code)
        return SendOutcome("deferred")
    policy = send_retry_policy()
    if not policy.should_retry(error, message.attempts):
        # Retryable by the table, but the attempts are spent.
        return _fail_by_rule(message, rule, error, reason=FailureReason.RETRIES_EXHAUSTED)
    delay = policy.delay_for(message.attempts, error)
    if rule.action is Action.SLOW_NUMBER:
        # Every worker sending for this number waits; this message goes to the back.
        delay = max(delay, limiter.pause(seconds=rule.delay))
    elif rule.action is Action.PAIR_BACKOFF:
        pair = PairBackoff(
            phone_number_id=item.number.phone_number_id, recipient=_recipient_of(item)
        )
        delay = max(delay, pair.penalize())
    _requeue(message, error)
    logger.info(
        "outbound message retry: id=%s attempt=%s code=%s action=%s in=%.2fs",
        message.pk,
        message.attempts,
        error.code,
        rule.action,
        delay,
    )
    return SendOutcome("retry", retry_in=delay)


def _fail_by_rule(
    message: WhatsAppMessage, rule: ErrorRule, error: GraphError, *, reason: str | None = None
) -> SendOutcome:
    text = error.details or error.message
    if rule.hint:
        text = f"{rule.hint} Meta: {text}"
    message_fail(
        message.pk,
        reason=reason or rule.reason,
        code=error.code,
        title=error.user_title or "",
        message=text,
    )
    return SendOutcome("failed")


def _requeue(message: WhatsAppMessage, error: GraphError, *, next_attempt_at=None) -> None:
    """Back to queued (the next claim needs it); the last error stays visible meanwhile."""
    _live(message.pk, Status.SENDING).update(
        status=Status.QUEUED,
        error_code=error.code,
        error_message=(error.details or error.message)[:2000],
        next_attempt_at=next_attempt_at,
        updated_at=timezone.now(),
    )


def _enqueue_retries(outcomes: dict[int, SendOutcome]) -> None:
    """One task per distinct countdown (rounded to 0.1 s) for the messages to try again."""
    groups: dict[float, list[int]] = defaultdict(list)
    for pk, outcome in outcomes.items():
        if outcome.retry_in is not None:
            groups[round(max(outcome.retry_in, 0.0), 1)].append(pk)
    for countdown, ids in groups.items():
        messages_enqueue(message_ids=ids, countdown=countdown)


def _recipient_of(item: _Ready) -> str:
    payload = item.payload
    return str(payload.get("to") or payload.get("recipient") or "")


def _prepare(batch: _Batch, message: WhatsAppMessage) -> tuple[PhoneNumber, dict]:
    """Checks that need no Meta call, then Meta's payload. Raises domain errors."""
    number = batch.number_for(message.phone_number_id or "")
    if message.phone_number_id != number.phone_number_id:
        WhatsAppMessage.objects.filter(pk=message.pk).update(phone_number_id=number.phone_number_id)
        message.phone_number_id = number.phone_number_id
    recipient = recipient_normalize(recipient=message.recipient or message.contact.address)
    if (message.contact_id, message.phone_number_id) not in batch.open_windows:
        window_check(
            contact=message.contact,
            phone_number_id=message.phone_number_id,
            message_type=message.type,
        )
    content = dict(message.content or {})
    media = getattr(message, "media", None) if message.type in MEDIA_TYPES else None
    if media is not None and media.media_id and not content.get("link"):
        content["id"] = media.media_id
    elif media is not None and media.state == WhatsAppMedia.State.STORED:
        content["id"] = PENDING_UPLOAD_ID  # replaced after the upload
    elif media is None and message.type in MEDIA_TYPES:
        media_record_referenced(message)
    payload = message_payload(
        recipient=recipient.value,
        message_type=message.type,
        content=content,
        reply_to=message.context_wamid or None,
        callback_data=str(message.client_reference),
    )
    return number, payload


def _upload(client, organization, number, message, media) -> SendOutcome | None:
    """Upload the stored file to Meta (`/media`); None when done, else the outcome."""
    try:
        media_upload_to_meta(media=media, client=client, phone_number_id=number.phone_number_id)
    except (GraphAuthError, CredentialInvalidError, CredentialMissingError) as exc:
        _halt(organization, message.pk, exc)
        return SendOutcome("failed")
    except GraphError as exc:
        policy = send_retry_policy()
        if policy.should_retry(exc, media.attempts):
            return SendOutcome("retry", retry_in=policy.delay_for(media.attempts, exc))
        message_fail(
            message.pk,
            reason=FailureReason.META_ERROR,
            code=exc.code,
            message=f"media upload failed: {exc.message}",
        )
        return SendOutcome("failed")
    return None
