"""Outbound messages: `message_create` (validate and store a queued message) and `message_send`
(the one sending pipeline, run by `send_message_task` for the API, the ORM, the admin and
campaigns alike: a queued outgoing row is sent by the post_save signal's task, nothing else).

Choices (issue #5; reference §8, §11, §13, §14):

- Validation reuses `whatsapp.graph.payloads` (Meta's rules live there once); its
  `PayloadError(field, message)` becomes `InvalidContentError` naming the field. Recipients are
  international numbers checked with `phonenumbers` and stored as E.164 digits (no "+", as Meta
  writes `wa_id`), or a BSUID (`CC.<alnum>`, reference §16), sent in `recipient` instead of `to`.
- The 24-hour window is checked against the contact's `last_inbound_at` at creation (a clear
  409 for the API caller) and again before sending (ORM-created rows, or a window that closed
  while the message waited). Only templates may be sent outside it.
- Record before calling: the attempt (status `sending`, attempts+1, last_attempt_at) is written
  by one conditional UPDATE in autocommit *before* Meta is called. The UPDATE only matches a
  `queued` row, so a duplicated task delivery (acks_late, a worker lost) can never send twice.
  Every send carries `biz_opaque_callback_data = client_reference` so a status webhook can find
  the row even when our send response was lost.
- At-most-once after a timeout: a `GraphTimeoutError(maybe_delivered=True)` (the request was
  written, no answer) is NOT retried, because Meta has no idempotency key and a retry may
  duplicate the message. The row stays `sending`: a status webhook carrying its client_reference
  settles it (sent/delivered/read/failed), and `messages_sweep_stale` fails it with
  `send_unconfirmed` once `WHATSAPP_SEND_UNCONFIRMED_AFTER` passes without one. A row left
  `sending` by a crashed worker is treated the same way (we cannot know whether Meta got it).
- Retried with the shared `RetryPolicy` (backoff + jitter, retry-after honoured, bounded by
  `WHATSAPP_SEND_MAX_ATTEMPTS`): connection errors before the request was sent, timeouts that
  cannot have delivered, 5xx and transient codes, and rate limits (130429 throughput, 131056
  pair rate: they back off and retry instead of failing). Between attempts the row goes back to
  `queued` (the next claim needs it). When the policy gives up: `failed`, `retries_exhausted`,
  Meta's last code and text kept.
- Token: the Graph client refreshes once on 190 (`refresh_access_token`). When the refresh or
  the retried call fails, the credential is marked invalid (the org's sending halts) and the
  message fails with `sending_halted`; later messages of that org fail the same way before any
  Meta call, until a new token is stored. Nothing is silently dropped.
- Permanent errors (100, 131026, 131047, 132xxx, unknown 4xx codes) fail at once: `meta_error`
  with Meta's code, title and message.
- A receipt can beat our send response (reference §6, §15): `sent` is written only where the
  row is still `queued`/`sending` (STATUS_RANK), otherwise only the missing wamid is filled in.
- Throughput: each send reserves a slot of its number's shared Redis limiter first
  (`whatsapp.services.ratelimit`); a queue longer than `WHATSAPP_RATE_LIMIT_MAX_WAIT` makes the
  task re-schedule itself rather than hold a worker asleep. No attempt is counted for that.
- Logs carry ids, codes and outcomes, never the token or the message content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, PhoneNumber
from tenants.services.credentials import credential_mark_invalid
from whatsapp.errors import (
    InvalidContentError,
    InvalidRecipientError,
    NoSendingNumberError,
    OutsideCustomerWindowError,
    SendingHaltedError,
    WhatsAppDomainError,
)
from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)
from whatsapp.graph.payloads import PayloadError, build_message_payload, build_payload_from_parts
from whatsapp.graph.retry import RetryPolicy
from whatsapp.graph.types import SentMessage
from whatsapp.models import Contact, PendingStatus, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.graph import graph_client_for_org
from whatsapp.services.media_upload import (
    media_store_upload,
    media_upload_to_meta,
    media_validate_upload,
)
from whatsapp.services.ratelimit import limiter_for_number
from whatsapp.services.statuses import pending_statuses_apply

logger = logging.getLogger(__name__)

Status = WhatsAppMessage.Status
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
CUSTOMER_WINDOW = timedelta(hours=24)
# Business-scoped user id: "<ISO country>.<≤128 alnum>", parents add an "ENT" part (§16); the
# same pattern as whatsapp.graph.payloads, which puts it in `recipient` instead of `to`.
BSUID_RE = re.compile(r"^[A-Z]{2}(?:\.[A-Za-z0-9]{1,128}){1,2}$")
# Validation placeholder for a media file that is uploaded to Meta by the sending task.
PENDING_UPLOAD_ID = "pending-upload"


class FailureReason:
    """`WhatsAppMessage.failure_reason` values (Meta's own code, if any, is in error_code)."""

    META_ERROR = "meta_error"
    RETRIES_EXHAUSTED = "retries_exhausted"
    SENDING_HALTED = SendingHaltedError.code
    SEND_UNCONFIRMED = "send_unconfirmed"
    OUTSIDE_WINDOW = OutsideCustomerWindowError.code


# --- Validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A validated recipient: E.164 digits (`is_phone`) or a BSUID."""

    value: str
    is_phone: bool


def recipient_normalize(*, recipient: str) -> Recipient:
    """An international phone number as E.164 digits, or a BSUID unchanged.

    Raises InvalidRecipientError (field `to`) for anything else.
    """
    raw = (recipient or "").strip()
    if BSUID_RE.match(raw):
        return Recipient(value=raw, is_phone=False)
    candidate = raw
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    elif not candidate.startswith("+"):
        candidate = "+" + candidate  # Meta's convention: digits with country code, no "+"
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecipientError(
            "Recipient must be an international phone number with country code or a "
            "business-scoped user id.",
            field="to",
        ) from exc
    # "Possible" (a real country code and a plausible length), not "valid": validity depends on
    # number-range metadata that lags reality, and it rejects Meta's own +1 555 test numbers.
    # Meta is the authority on whether a number is on WhatsApp (error 131026).
    if not phonenumbers.is_possible_number(number):
        raise InvalidRecipientError(
            "Recipient is not a possible international phone number.", field="to"
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Recipient(value=e164.lstrip("+"), is_phone=True)


def message_payload(
    *,
    recipient: str,
    message_type: str,
    content: dict[str, Any],
    reply_to: str | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """Meta's exact JSON for one message (built by `whatsapp.graph.payloads`).

    Raises InvalidContentError naming the offending field.
    """
    try:
        return build_message_payload(
            recipient=recipient,
            message_type=message_type,
            content=content,
            reply_to=reply_to or None,
            callback_data=callback_data,
        )
    except PayloadError as exc:
        raise _content_error(exc) from exc


def _content_error(exc: PayloadError) -> InvalidContentError:
    # The API takes Meta's own shape (`"text": {"body": ...}`), so the payload's dotted path
    # is the request's field; only the recipient is called `to` on our side.
    field = "to" if exc.field == "recipient" else exc.field
    return InvalidContentError(f"{field}: {exc.message}", field=field)


def customer_window_open(*, contact: Contact, now: Any = None) -> bool:
    """True while the contact's last inbound message is less than 24 hours old (§11)."""
    last = contact.last_inbound_at
    return last is not None and last > (now or timezone.now()) - CUSTOMER_WINDOW


def _check_window(*, contact: Contact, message_type: str) -> None:
    if message_type != "template" and not customer_window_open(contact=contact):
        raise OutsideCustomerWindowError(
            "The customer has not written in the last 24 hours: only an approved template "
            "message can be sent now.",
            field="type",
        )


def sending_number_for(
    *, organization: Organization, phone_number_id: str | None = None
) -> PhoneNumber:
    """The organization's number to send from: the one asked for, else its first.

    A number of another organization is treated like an unknown one (never revealed).
    Raises NoSendingNumberError.
    """
    numbers = PhoneNumber.objects.filter(organization=organization).order_by("connected_at", "pk")
    if phone_number_id:
        number = numbers.filter(phone_number_id=phone_number_id).first()
        if number is None:
            raise NoSendingNumberError(
                "This organization has no WhatsApp number with that phone_number_id.",
                field="phone_number_id",
            )
        return number
    number = numbers.first()
    if number is None:
        raise NoSendingNumberError("This organization has no connected WhatsApp number.")
    return number


def contact_for_recipient(*, recipient: Recipient) -> Contact:
    """The contact with this wa_id / BSUID, created when new (race-safe on the unique keys)."""
    lookup = {"wa_id": recipient.value} if recipient.is_phone else {"user_id": recipient.value}
    contact = Contact.objects.filter(**lookup).first()
    if contact is not None:
        return contact
    try:
        with transaction.atomic():
            return Contact.objects.create(**lookup)
    except IntegrityError:
        return Contact.objects.get(**lookup)


def _current_organization() -> Organization:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Organization) or tenant.is_public:
        raise NoSendingNumberError("Messages are sent from an organization's schema.")
    return tenant


def _message_text(message_type: str, content: dict[str, Any]) -> str:
    if message_type == "text":
        return str(content.get("body") or "")
    return str(content.get("caption") or "")


# --- Creating --------------------------------------------------------------------------------


@transaction.atomic
def message_create(
    *,
    to: str,
    message_type: str,
    content: dict[str, Any],
    reply_to: str = "",
    phone_number_id: str | None = None,
    upload: Any = None,
) -> WhatsAppMessage:
    """Validate an outgoing message and store it `queued` in the current tenant.

    The post_save signal enqueues `send_message_task` when the transaction commits: the API,
    the admin, the ORM and campaigns share that one pipeline. `upload` (a Django UploadedFile)
    is stored as the message's WhatsAppMedia and uploaded to Meta by the task before sending.
    Raises InvalidRecipientError, InvalidContentError, NoSendingNumberError,
    OutsideCustomerWindowError.
    """
    organization = _current_organization()
    recipient = recipient_normalize(recipient=to)
    content = dict(content or {})
    if upload is not None:
        if message_type not in MEDIA_TYPES:
            raise InvalidContentError("A file can only be sent as a media message.", field="file")
        if content.get("id") or content.get("link"):
            raise InvalidContentError("Send either a file or an id/link, not both.", field="file")
        mime_type = media_validate_upload(message_type=message_type, upload=upload)
        if message_type == "document" and not content.get("filename"):
            content["filename"] = _safe_display_name(getattr(upload, "name", "") or "")
    validation_content = dict(content, id=PENDING_UPLOAD_ID) if upload is not None else content
    message_payload(
        recipient=recipient.value,
        message_type=message_type,
        content=validation_content,
        reply_to=reply_to,
        callback_data="00000000-0000-0000-0000-000000000000",
    )
    number = sending_number_for(organization=organization, phone_number_id=phone_number_id)
    contact = contact_for_recipient(recipient=recipient)
    _check_window(contact=contact, message_type=message_type)
    message = WhatsAppMessage(
        direction=WhatsAppMessage.Direction.OUTGOING,
        status=Status.QUEUED,
        phone_number_id=number.phone_number_id,
        contact=contact,
        recipient=recipient.value,
        type=message_type,
        text=_message_text(message_type, content),
        content=content,
        context_wamid=reply_to or "",
        timestamp=timezone.now(),
    )
    if upload is not None:
        # Saved with the media in one transaction: the signal's task runs after commit and
        # finds the file already attached.
        message.save()
        media_store_upload(message=message, upload=upload, mime_type=mime_type)
    else:
        message.save()
        if message_type in MEDIA_TYPES:
            _record_referenced_media(message)
    logger.info(
        "outbound message queued: id=%s type=%s number=%s",
        message.pk,
        message_type,
        number.phone_number_id,
    )
    return message


def _safe_display_name(name: str) -> str:
    """The uploaded file's base name, for Meta's `filename` (shown to the user, never a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:240] or "document"


def _record_referenced_media(message: WhatsAppMessage) -> None:
    """Outgoing media sent by Meta id or public link is recorded as WhatsAppMedia too."""
    content = message.content or {}
    WhatsAppMedia.objects.get_or_create(
        message=message,
        defaults={
            "media_id": str(content.get("id") or "")[:128],
            "original_filename": str(content.get("filename") or "")[:255],
            "state": WhatsAppMedia.State.REFERENCED,
        },
    )


# --- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    """What the task does next: `retry_in` seconds → re-schedule; otherwise done."""

    result: str  # sent | failed | retry | unconfirmed | skipped
    retry_in: float | None = None


def send_retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.WHATSAPP_SEND_MAX_ATTEMPTS,
        base_delay=settings.WHATSAPP_SEND_RETRY_BASE_DELAY,
        max_delay=settings.WHATSAPP_SEND_RETRY_MAX_DELAY,
    )


def graph_client_for(organization: Organization) -> GraphClient:
    """The org's Graph client (settings read per call, token refreshed once on 190)."""
    return graph_client_for_org(str(organization.org_id))


def _live(message_id: int, *statuses: str):
    return WhatsAppMessage.objects.filter(pk=message_id, status__in=statuses)


def _fail(message_id: int, *, reason: str, message: str, code: int | None = None,
          title: str = "") -> bool:  # fmt: skip
    """Mark failed unless a receipt already settled the row (STATUS_RANK)."""
    updated = _live(message_id, Status.QUEUED, Status.SENDING).update(
        status=Status.FAILED,
        failed_at=timezone.now(),
        failure_reason=reason,
        error_code=code,
        error_title=(title or "")[:255],
        error_message=message[:2000],
        updated_at=timezone.now(),
    )
    logger.warning("outbound message failed: id=%s reason=%s code=%s", message_id, reason, code)
    return bool(updated)


def _mark_sent(message: WhatsAppMessage, sent: SentMessage) -> None:
    now = timezone.now()
    updated = _live(message.pk, Status.QUEUED, Status.SENDING).update(
        status=Status.SENT,
        wamid=sent.wamid or None,
        sent_at=now,
        failure_reason="",
        error_code=None,
        error_title="",
        error_message="",
        updated_at=now,
    )
    if not updated and sent.wamid:
        # A status webhook got here first (reference §6): keep its status, add the wamid.
        WhatsAppMessage.objects.filter(pk=message.pk, wamid__isnull=True).update(
            wamid=sent.wamid, updated_at=now
        )
    _store_wa_id(message.contact, sent.wa_id)
    # A receipt finds our row by client_reference (committed before the call), so receipts are
    # parked only in odd cases; look before taking the row lock that applying them needs.
    if PendingStatus.objects.filter(
        Q(wamid=sent.wamid) | Q(callback_data=str(message.client_reference))
    ).exists():
        pending_statuses_apply(message_id=message.pk)
    logger.info("outbound message sent: id=%s attempts=%s", message.pk, message.attempts)


def _store_wa_id(contact: Contact, wa_id: str | None) -> None:
    """Meta's normalised wa_id may differ from what we sent (reference §8): keep Meta's."""
    if not wa_id or wa_id == contact.wa_id:
        return
    try:
        with transaction.atomic():
            Contact.objects.filter(pk=contact.pk).update(wa_id=wa_id)
    except IntegrityError:
        logger.warning("contact %s: wa_id from Meta belongs to another contact", contact.pk)


def _halt(organization: Organization, message_id: int, error: Exception) -> None:
    reason = f"token rejected by Meta: {error}"
    if not isinstance(error, CredentialInvalidError | CredentialMissingError):
        credential_mark_invalid(org_id=str(organization.org_id), reason=reason)
    _fail(
        message_id,
        reason=FailureReason.SENDING_HALTED,
        code=getattr(error, "code", None),
        message="Sending is halted for this organization: its WhatsApp access token is invalid "
        "and could not be refreshed. Connect a new token to resume.",
    )


def message_send(*, message_id: int) -> SendOutcome:
    """Send one queued outgoing message through Meta and settle its state.

    Returns what happened; `retry_in` asks the caller (the task) to run again later. Never
    raises for Meta's or the message's errors: they end in the row's state.
    """
    message = WhatsAppMessage.objects.select_related("contact").filter(pk=message_id).first()
    if message is None or not message.is_outgoing or message.status != Status.QUEUED:
        return SendOutcome("skipped")
    organization = _current_organization()
    try:
        number, payload = _prepare(organization, message)
    except WhatsAppDomainError as exc:
        _fail(message.pk, reason=exc.code, message=exc.message)
        return SendOutcome("failed")
    client = graph_client_for(organization)
    media = getattr(message, "media", None) if message.type in MEDIA_TYPES else None
    if media is not None and media.state == WhatsAppMedia.State.STORED and not media.media_id:
        outcome = _upload(client, organization, number, message, media)
        if outcome is not None:
            return outcome
        number, payload = _prepare(organization, message)

    limiter = limiter_for_number(
        phone_number_id=number.phone_number_id, messages_per_second=number.messages_per_second
    )
    slot = limiter.reserve(max_wait=settings.WHATSAPP_RATE_LIMIT_MAX_WAIT)
    if not slot.granted:
        # The number's queue is long (a campaign): come back when it has drained.
        return SendOutcome("retry", retry_in=slot.wait)

    # Record the attempt, committed, before Meta hears of it; only a queued row is claimed.
    now = timezone.now()
    claimed = _live(message.pk, Status.QUEUED).update(
        status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, updated_at=now
    )
    if not claimed:
        return SendOutcome("skipped")
    message.attempts += 1  # the UPDATE matched only while the row was queued: ours is this one
    slot.sleep_until_slot()  # after the DB write: the request leaves right at its slot
    try:
        sent = client.send_message(number.phone_number_id, payload)
    except GraphTimeoutError as exc:
        if exc.maybe_delivered:
            logger.warning(
                "outbound message unconfirmed (timeout after the request was sent): id=%s; "
                "left in sending for a status webhook or the sweeper",
                message.pk,
            )
            return SendOutcome("unconfirmed")
        return _retry_or_fail(message, exc)
    except (GraphAuthError, CredentialInvalidError, CredentialMissingError) as exc:
        _halt(organization, message.pk, exc)
        return SendOutcome("failed")
    except GraphError as exc:
        return _retry_or_fail(message, exc)
    _mark_sent(message, sent)
    return SendOutcome("sent")


def _prepare(organization: Organization, message: WhatsAppMessage) -> tuple[PhoneNumber, dict]:
    """Checks that need no Meta call, then Meta's payload. Raises domain errors."""
    number = sending_number_for(
        organization=organization, phone_number_id=message.phone_number_id or None
    )
    if message.phone_number_id != number.phone_number_id:
        WhatsAppMessage.objects.filter(pk=message.pk).update(phone_number_id=number.phone_number_id)
        message.phone_number_id = number.phone_number_id
    recipient = recipient_normalize(recipient=message.recipient or message.contact.address)
    _check_window(contact=message.contact, message_type=message.type)
    content = dict(message.content or {})
    media = getattr(message, "media", None) if message.type in MEDIA_TYPES else None
    if media is not None and media.media_id and not content.get("link"):
        content["id"] = media.media_id
    elif media is not None and media.state == WhatsAppMedia.State.STORED:
        content["id"] = PENDING_UPLOAD_ID  # replaced after the upload
    elif media is None and message.type in MEDIA_TYPES:
        _record_referenced_media(message)
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
        _fail(
            message.pk,
            reason=FailureReason.META_ERROR,
            code=exc.code,
            message=f"media upload failed: {exc.message}",
        )
        return SendOutcome("failed")
    return None


def _retry_or_fail(message: WhatsAppMessage, error: GraphError) -> SendOutcome:
    policy = send_retry_policy()
    attempt = message.attempts
    if policy.should_retry(error, attempt):
        delay = policy.delay_for(attempt, error)
        # Back to queued (the next claim needs it); the last error stays visible meanwhile.
        _live(message.pk, Status.SENDING).update(
            status=Status.QUEUED,
            error_code=error.code,
            error_message=error.message[:2000],
            updated_at=timezone.now(),
        )
        logger.info(
            "outbound message retry: id=%s attempt=%s error=%s code=%s in=%.2fs",
            message.pk,
            attempt,
            type(error).__name__,
            error.code,
            delay,
        )
        return SendOutcome("retry", retry_in=delay)
    # Transient and rate-limit errors that outlived the policy: retries_exhausted. Permanent
    # ones and unknown 4xx codes (the base GraphError): Meta refused this message.
    exhausted = isinstance(error, GraphTransientError | GraphRateLimitedError)
    _fail(
        message.pk,
        reason=FailureReason.RETRIES_EXHAUSTED if exhausted else FailureReason.META_ERROR,
        code=error.code,
        title=error.user_title or "",
        message=error.message,
    )
    return SendOutcome("failed")


# --- Sweeping --------------------------------------------------------------------------------


def messages_sweep_stale(
    *, unconfirmed_after: timedelta, requeue_after: timedelta
) -> dict[str, list[int]]:
    """Settle outgoing messages nobody will finish (runs per tenant, periodically).

    - `sending` for longer than `unconfirmed_after` (timeout after the request was sent, or a
      worker died mid-call) and no status webhook settled it: `failed`, `send_unconfirmed`.
      Never re-sent: Meta may have delivered it (at-most-once, module docstring).
    - `queued` untouched for longer than `requeue_after` (its task was lost): enqueued again;
      the conditional claim makes a duplicate task harmless.
    """
    from whatsapp.tasks.outbound import send_message_task

    now = timezone.now()
    stuck = list(
        WhatsAppMessage.objects.filter(
            direction=WhatsAppMessage.Direction.OUTGOING,
            status=Status.SENDING,
            last_attempt_at__lt=now - unconfirmed_after,
        ).values_list("pk", flat=True)
    )
    failed = [
        pk
        for pk in stuck
        if _fail(
            pk,
            reason=FailureReason.SEND_UNCONFIRMED,
            message="The send call timed out after the request was sent and no status "
            "arrived: Meta may or may not have delivered it. Not retried, to avoid a duplicate.",
        )
    ]
    requeued = list(
        WhatsAppMessage.objects.filter(
            direction=WhatsAppMessage.Direction.OUTGOING,
            status=Status.QUEUED,
            updated_at__lt=now - requeue_after,
        ).values_list("pk", flat=True)
    )
    for pk in requeued:
        send_message_task.delay(pk)
    return {"failed": failed, "requeued": requeued}


# --- The helper the issue names ----------------------------------------------------------------


def send_whatsapp_message(
    access_token: str,
    recipient: str,
    message_type: str,
    content: Mapping[str, Any] | str | None = None,
    caption: str | None = None,
    media_url: str | None = None,
    *,
    phone_number_id: str,
    reply_to: str | None = None,
    callback_data: str | None = None,
    client: GraphClient | None = None,
) -> SentMessage:
    """Build Meta's payload and post it with `access_token` from `phone_number_id`.

    A thin, stateless wrapper over `whatsapp.graph.payloads` and `GraphClient` for scripts and
    one-off calls: it stores nothing, does not retry and does not rate-limit. Product code
    creates a WhatsAppMessage instead (the pipeline above). `content` is Meta's object for the
    type, or (as in `build_payload_from_parts`) the text body / a media id or link as a string;
    `caption` and `media_url` fill a media message's caption and link. Raises
    InvalidRecipientError, InvalidContentError or the Graph client's errors.
    """
    to = recipient_normalize(recipient=recipient).value
    try:
        if isinstance(content, Mapping):
            parts = dict(content)
            if caption is not None:
                parts["caption"] = caption
            if media_url is not None:
                parts.pop("id", None)
                parts["link"] = media_url
            payload = build_message_payload(recipient=to, message_type=message_type, content=parts)
        else:
            payload = build_payload_from_parts(to, message_type, content, caption, media_url)
    except PayloadError as exc:
        raise _content_error(exc) from exc
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    if client is not None:
        return client.send_message(phone_number_id, payload)
    with GraphClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        api_version=settings.WHATSAPP_GRAPH_VERSION,
        timeout=settings.WHATSAPP_GRAPH_TIMEOUT,
        token_provider=lambda: access_token,
    ) as own_client:
        return own_client.send_message(phone_number_id, payload)
