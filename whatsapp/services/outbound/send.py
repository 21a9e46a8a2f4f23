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

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, PhoneNumber
from whatsapp.errors import WhatsAppDomainError
from whatsapp.graph.errors import GraphAuthError, GraphError, GraphTimeoutError
from whatsapp.graph.retry import RetryPolicy
from whatsapp.graph.types import SentMessage
from whatsapp.models import PendingStatus, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.contacts import contact_wa_id_confirm
from whatsapp.services.media_upload import media_upload_to_meta
from whatsapp.services.meta_access import graph_client_for_org, sending_halt
from whatsapp.services.outbound.create import media_record_referenced
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.policy import (
    Action,
    ErrorRule,
    contact_opt_out_marketing,
    error_rule_for,
)
from whatsapp.services.outbound.rules import (
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
    SendRateLimiter,
    limiter_for_number,
    number_messages_per_second,
    pairs_blocked,
)
from whatsapp.services.statuses import pending_statuses_apply

logger = logging.getLogger(__name__)


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
    """Meta's 200: `accepted` with the wamid, `accepted_at` and Meta's `message_status`.
    Not `sent`: that is a status webhook (`sent_at` is its time)."""
    now = timezone.now()
    meta_status = (sent.message_status or "")[:40]
    updated = _live(message.pk, Status.QUEUED, Status.SENDING).update(
        status=Status.ACCEPTED,
        wamid=sent.wamid or None,
        accepted_at=now,
        message_status=meta_status,
        failure_reason="",
        error_code=None,
        error_title="",
        error_message="",
        updated_at=now,
    )
    if not updated:
        # A status webhook got here first: keep its status, add what the 200 told us.
        fill = {"accepted_at": Coalesce(F("accepted_at"), Value(now)), "updated_at": now}
        if meta_status:
            fill["message_status"] = Value(meta_status)
        WhatsAppMessage.objects.filter(pk=message.pk).update(**fill)
        if sent.wamid:
            WhatsAppMessage.objects.filter(pk=message.pk, wamid__isnull=True).update(
                wamid=sent.wamid
            )
    contact_wa_id_confirm(
        contact_id=message.contact_id, wa_id=sent.wa_id or "", known_wa_id=message.contact.wa_id
    )
    # A receipt finds our row by client_reference (committed before the call), so receipts are
    # parked only in odd cases; look before taking the row lock that applying them needs.
    if PendingStatus.objects.filter(
        Q(wamid=sent.wamid) | Q(callback_data=str(message.client_reference))
    ).exists():
        pending_statuses_apply(message_id=message.pk)
    logger.info(
        "outbound message accepted: id=%s attempts=%s message_status=%s",
        message.pk,
        message.attempts,
        meta_status or "-",
    )


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


def messages_send(*, message_ids: Sequence[int]) -> dict[int, SendOutcome]:
    """Send the batch's outgoing messages that are still `queued`, and settle each one.

    Returns each id's outcome. Never raises for Meta's or the messages' errors: they end in the
    rows' states. Messages that must be tried again are enqueued again here
    (`messages_enqueue` with their countdown); deferred ones (131049) wait for the sweeper.
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
    by_number: dict[str, list[_Ready]] = defaultdict(list)
    for message in rows:
        ready = _ready(client, organization, message)
        if isinstance(ready, SendOutcome):
            outcomes[message.pk] = ready
        else:
            by_number[ready.number.phone_number_id].append(ready)
    for items in by_number.values():
        outcomes.update(_send_for_number(client, organization, items))
    _enqueue_retries(outcomes)
    return outcomes


def message_send(*, message_id: int) -> SendOutcome:
    """`messages_send` for one message; returns its outcome."""
    return messages_send(message_ids=[message_id])[message_id]


def _ready(client, organization: Organization, message: WhatsAppMessage) -> _Ready | SendOutcome:
    """Prepare one message (upload its stored file first); an outcome when it cannot be sent."""
    try:
        number, payload = _prepare(organization, message)
    except WhatsAppDomainError as exc:
        message_fail(message.pk, reason=exc.code, message=exc.message)
        return SendOutcome("failed")
    media = getattr(message, "media", None) if message.type in MEDIA_TYPES else None
    if media is not None and media.state == WhatsAppMedia.State.STORED and not media.media_id:
        outcome = _upload(client, organization, number, message, media)
        if outcome is not None:
            return outcome
        number, payload = _prepare(organization, message)
    return _Ready(message=message, number=number, payload=payload)


def _send_for_number(client, organization: Organization, items: list[_Ready]):
    """Send one number's messages at its limiter's slots, claiming them chunk by chunk."""
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
    while queue:
        slots = limiter.reserve_many(
            count=len(queue), max_wait=settings.WHATSAPP_RATE_LIMIT_MAX_WAIT
        )
        if not slots[0].granted:
            # The number's queue is long (a campaign): come back when it has drained.
            for item in queue:
                outcomes[item.message.pk] = SendOutcome("retry", retry_in=slots[0].wait)
            break
        chunk, queue = queue[: len(slots)], queue[len(slots) :]
        claimed = _claim([item.message.pk for item in chunk])
        late_allowance = float(settings.WHATSAPP_RATE_LIMIT_JITTER)
        for index, (item, slot) in enumerate(zip(chunk, slots, strict=False)):
            if item.message.pk not in claimed:
                continue  # another task has it (skipped)
            if index and slot.late_by() > late_allowance:
                # Earlier sends of the chunk ran long: sending now would crowd the slots after
                # ours. Give the rest of the chunk back (unsent) and reserve again.
                rest = [i.message.pk for i in chunk[index:] if i.message.pk in claimed]
                _unclaim(rest)
                queue = [i for i in chunk[index:] if i.message.pk in claimed] + queue
                break
            item.message.attempts = claimed[item.message.pk]
            slot.sleep_until_slot()  # after the DB write: the request leaves right at its slot
            outcomes[item.message.pk] = _send_one(client, organization, limiter, item)
    return outcomes


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


def _unclaim(ids: list[int]) -> None:
    """Give claimed rows back unsent (no request left for them): `queued`, attempt undone."""
    WhatsAppMessage.objects.filter(pk__in=ids, status=Status.SENDING).update(
        status=Status.QUEUED, attempts=F("attempts") - 1, updated_at=timezone.now()
    )


def _send_one(client, organization: Organization, limiter: SendRateLimiter, item: _Ready):
    message = item.message
    try:
        sent = client.send_message(item.number.phone_number_id, item.payload)
    except GraphTimeoutError as exc:
        if exc.maybe_delivered:
            logger.warning(
                "outbound message unconfirmed (timeout after the request was sent): id=%s; "
                "left in sending for a status webhook or the sweeper",
                message.pk,
            )
            return SendOutcome("unconfirmed")
        return _on_error(organization, limiter, item, exc)
    except (CredentialInvalidError, CredentialMissingError) as exc:
        _halt(organization, message.pk, exc)
        return SendOutcome("failed")
    except GraphError as exc:
        return _on_error(organization, limiter, item, exc)
    _mark_accepted(message, sent)
    return SendOutcome("accepted")


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


def _prepare(organization: Organization, message: WhatsAppMessage) -> tuple[PhoneNumber, dict]:
    """Checks that need no Meta call, then Meta's payload. Raises domain errors."""
    number = sending_number_for(
        organization=organization, phone_number_id=message.phone_number_id or None
    )
    if message.phone_number_id != number.phone_number_id:
        WhatsAppMessage.objects.filter(pk=message.pk).update(phone_number_id=number.phone_number_id)
        message.phone_number_id = number.phone_number_id
    recipient = recipient_normalize(recipient=message.recipient or message.contact.address)
    window_check(
        contact=message.contact, phone_number_id=message.phone_number_id, message_type=message.type
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
