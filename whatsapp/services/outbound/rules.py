"""What an outbound message must satisfy before it is stored or sent: the recipient, the content
(Meta's payload rules, reused from whatsapp.graph.payloads), the sending number and the
24-hour customer-service window.

Meta pages:
- customer service windows: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tenants.models import Organization, PhoneNumber
from whatsapp.errors import (
    InvalidContentError,
    InvalidRecipientError,
    NoSendingNumberError,
    OutsideCustomerWindowError,
    SendingHaltedError,
)
from whatsapp.graph.facts import BSUID_RE
from whatsapp.graph.facts import MEDIA_TYPES as MEDIA_TYPES  # used by create.py and send.py
from whatsapp.graph.payloads import PayloadError, build_message_payload
from whatsapp.graph.wa_id import is_legacy_mexican_mobile, wa_id_candidates
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.contacts import contact_for_address

Status = WhatsAppMessage.Status
CUSTOMER_WINDOW = timedelta(hours=24)
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
    # Meta is the authority on whether a number is on WhatsApp (error 131026). Mexican wa_ids
    # keep the `1` that the 2019 dialling plan (and so `phonenumbers`) dropped.
    if not phonenumbers.is_possible_number(number) and not is_legacy_mexican_mobile(number):
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
        raise content_error(exc) from exc


def content_error(exc: PayloadError) -> InvalidContentError:
    # The API takes Meta's own shape (`"text": {"body": ...}`), so the payload's dotted path
    # is the request's field; only the recipient is called `to` on our side.
    field = "to" if exc.field == "recipient" else exc.field
    return InvalidContentError(f"{field}: {exc.message}", field=field)


def customer_window_open(*, contact: Contact, phone_number_id: str, now: Any = None) -> bool:
    """True while the contact's last message *to this number* is less than 24 hours old.

    Meta keeps one window per user and business number (Meta: customer service windows): a
    customer who wrote to one of the organization's numbers has not opened a window on its
    others. The user is every contact whose wa_id is a form of this one's (`wa_id_candidates`:
    a customer who wrote from 551187654321 is answered at +5511987654321). `last_inbound_at`
    (any number) settles the common closed case.
    """
    cutoff = (now or timezone.now()) - CUSTOMER_WINDOW
    forms = wa_id_candidates(contact.wa_id or "")
    if len(forms) > 1:
        contact_ids = list(
            Contact.objects.filter(
                Q(pk=contact.pk) | Q(wa_id__in=forms), last_inbound_at__gt=cutoff
            ).values_list("pk", flat=True)
        )
    else:
        last = contact.last_inbound_at
        contact_ids = [contact.pk] if last is not None and last > cutoff else []
    if not contact_ids:
        return False
    return WhatsAppMessage.objects.filter(
        contact_id__in=contact_ids,
        phone_number_id=phone_number_id,
        direction=WhatsAppMessage.Direction.INCOMING,
        timestamp__gt=cutoff,
    ).exists()


def window_check(*, contact: Contact, phone_number_id: str, message_type: str) -> None:
    if message_type != "template" and not customer_window_open(
        contact=contact, phone_number_id=phone_number_id
    ):
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
    """The contact with this BSUID, or with any wa_id Meta treats as this phone number's user;
    created with the typed form when new (whatsapp.services.contacts.contact_for_address)."""
    if recipient.is_phone:
        return contact_for_address(wa_id=recipient.value)
    return contact_for_address(user_id=recipient.value)


def current_organization() -> Organization:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Organization) or tenant.is_public:
        raise NoSendingNumberError("Messages are sent from an organization's schema.")
    return tenant


def message_text_of(message_type: str, content: dict[str, Any]) -> str:
    if message_type == "text":
        return str(content.get("body") or "")
    return str(content.get("caption") or "")
