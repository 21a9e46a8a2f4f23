"""`message_send`: the one sending pipeline (see the package docstring for the choices)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone

from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, PhoneNumber
from whatsapp.errors import (
    WhatsAppDomainError,
)
from whatsapp.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)
from whatsapp.graph.retry import RetryPolicy
from whatsapp.graph.types import SentMessage
from whatsapp.graph.wa_id import wa_id_candidates
from whatsapp.models import Contact, PendingStatus, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.media_upload import (
    media_upload_to_meta,
)
from whatsapp.services.meta_access import graph_client_for_org, sending_halt
from whatsapp.services.outbound.create import media_record_referenced
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
from whatsapp.services.ratelimit import limiter_for_number
from whatsapp.services.statuses import pending_statuses_apply

logger = logging.getLogger(__name__)


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
    """Meta's answer (`contacts[0].wa_id`) names the user, which may be another form of the
    number we sent (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
    the contact takes Meta's wa_id. When another contact already holds it and is the same user
    (`wa_id_candidates`), this contact's messages move to that one and the emptied duplicate is
    removed, so one user stays one contact."""
    if not wa_id or wa_id == contact.wa_id:
        return
    try:
        with transaction.atomic():
            Contact.objects.filter(pk=contact.pk).update(wa_id=wa_id)
        return
    except IntegrityError:
        pass
    holder = Contact.objects.filter(wa_id=wa_id).exclude(pk=contact.pk).first()
    if holder is None or contact.user_id or contact.wa_id not in wa_id_candidates(wa_id):
        logger.warning("contact %s: wa_id from Meta belongs to another contact", contact.pk)
        return
    with transaction.atomic():
        moved = WhatsAppMessage.objects.filter(contact=contact).update(contact=holder)
        if contact.last_inbound_at and (
            holder.last_inbound_at is None or contact.last_inbound_at > holder.last_inbound_at
        ):
            Contact.objects.filter(pk=holder.pk).update(last_inbound_at=contact.last_inbound_at)
        try:
            with transaction.atomic():
                Contact.objects.filter(pk=contact.pk).delete()
        except (IntegrityError, ProtectedError):  # a message was linked meanwhile: keep it
            pass
    logger.info(
        "contact %s is another form of contact %s: %d message(s) moved",
        contact.pk,
        holder.pk,
        moved,
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


def message_send(*, message_id: int) -> SendOutcome:
    """Send one queued outgoing message through Meta and settle its state.

    Returns what happened; `retry_in` asks the caller (the task) to run again later. Never
    raises for Meta's or the message's errors: they end in the row's state.
    """
    message = WhatsAppMessage.objects.select_related("contact").filter(pk=message_id).first()
    if message is None or not message.is_outgoing or message.status != Status.QUEUED:
        return SendOutcome("skipped")
    organization = current_organization()
    try:
        number, payload = _prepare(organization, message)
    except WhatsAppDomainError as exc:
        message_fail(message.pk, reason=exc.code, message=exc.message)
        return SendOutcome("failed")
    client = graph_client_for_org(str(organization.org_id))
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
    message_fail(
        message.pk,
        reason=FailureReason.RETRIES_EXHAUSTED if exhausted else FailureReason.META_ERROR,
        code=error.code,
        title=error.user_title or "",
        message=error.message,
    )
    return SendOutcome("failed")
