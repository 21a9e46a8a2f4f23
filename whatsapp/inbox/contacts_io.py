"""Contacts in and out as CSV: an import that reports on every row, an export, tags.

Import columns (a header row; names case-insensitive, unknown columns ignored):
`phone` (international, with country code: checked and normalised by `phonenumbers` through
whatsapp.services.outbound.recipient_normalize), `bsuid` (a business-scoped user id, for users
known without a visible number: Meta's business-scoped user ids page), `name`, `tags` (separated
by `;`), `opted_out` (yes/true/1: the contact asked not to receive marketing). A row needs a
phone or a BSUID. Contacts are found or created through whatsapp.services.contacts (the one
writer of a contact's identity); a name from Meta's profile is never overwritten.
https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from billing_stub.quota import QuotaExceeded, quota_check
from tenants.models import Organization
from whatsapp.errors import WhatsAppDomainError
from whatsapp.models import Contact, ContactTag
from whatsapp.services.contacts import contact_for_address
from whatsapp.services.outbound import recipient_normalize

IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 2 * 1024 * 1024
TAG_MAX = 50
TRUE_WORDS = frozenset({"yes", "y", "true", "1", "x"})
EXPORT_COLUMNS = ("phone", "bsuid", "username", "name", "tags", "opted_out", "last_seen")


class ImportFileError(WhatsAppDomainError):
    """The file as a whole cannot be read (not CSV/UTF-8, no usable header, too large)."""

    code = "import_file_invalid"


@dataclass(frozen=True)
class RowReport:
    """One data row: `line` (1 = the header), `outcome` created | updated | error, `message`."""

    line: int
    outcome: str
    message: str
    contact_id: int | None = None


def tags_parse(value: str) -> list[str]:
    """`"VIP; new lead"` -> ["vip", "new lead"]: lower-case, trimmed, unique, at most 50 chars."""
    seen: dict[str, None] = {}
    for part in value.replace(",", ";").split(";"):
        tag = " ".join(part.split()).lower()[:TAG_MAX]
        if tag:
            seen[tag] = None
    return list(seen)


def contact_tags_set(*, contact: Contact, tags: Iterable[str]) -> None:
    """Replace the contact's tags (two statements)."""
    wanted = set(tags)
    with transaction.atomic():
        ContactTag.objects.filter(contact=contact).exclude(name__in=wanted).delete()
        ContactTag.objects.bulk_create(
            [ContactTag(contact=contact, name=name) for name in sorted(wanted)],
            ignore_conflicts=True,
        )


def contacts_import_csv(*, data: bytes) -> list[RowReport]:
    """Import contacts from CSV bytes; each row stands alone (its own savepoint) and gets a
    report. Raises ImportFileError when the file cannot be read at all, and billing's
    QuotaExceeded (`used`: the contacts before the import) when the contacts it creates would
    pass the plan's `contacts`: then nothing of the file is imported."""
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportFileError("The file is larger than 2 MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text; export it as CSV (UTF-8).") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    if "phone" not in header and "bsuid" not in header:
        raise ImportFileError("The first row must name the columns, with `phone` or `bsuid`.")
    reader.fieldnames = header
    reports = []
    with transaction.atomic():  # all or nothing against the plan (rows still stand alone)
        for index, row in enumerate(reader):
            line = index + 2
            if index >= IMPORT_MAX_ROWS:
                reports.append(RowReport(line, "error", f"Only {IMPORT_MAX_ROWS} rows are read."))
                break
            reports.append(_import_row(line, {k: (v or "").strip() for k, v in row.items() if k}))
        created = sum(1 for report in reports if report.outcome == "created")
        if created:
            _contacts_within_plan(created)
    return reports


def _contacts_within_plan(created: int) -> None:
    """The plan's check once the rows exist (they are the count): past the limit, the import
    is rolled back and the error reports the count before it."""
    organization_id = getattr(connection.tenant, "pk", None) or (
        Organization.objects.values_list("pk", flat=True).get(schema_name=connection.schema_name)
    )
    try:
        quota_check(organization_id=organization_id, limit="contacts", amount=0)
    except QuotaExceeded as exc:
        raise QuotaExceeded(
            limit=exc.limit, used=exc.used - created, allowed=exc.allowed, resets_at=None
        ) from None


def _import_row(line: int, row: dict[str, str]) -> RowReport:
    phone, bsuid = row.get("phone", ""), row.get("bsuid", "")
    if not phone and not bsuid:
        return RowReport(line, "error", "Give a phone number or a BSUID.")
    wa_id = user_id = ""
    if phone:
        try:
            recipient = recipient_normalize(recipient=phone)
        except WhatsAppDomainError:
            return RowReport(line, "error", f"{phone!r} is not an international phone number.")
        if not recipient.is_phone:
            return RowReport(line, "error", f"{phone!r} is a BSUID: put it in the bsuid column.")
        wa_id = recipient.value
    if bsuid:
        try:
            recipient = recipient_normalize(recipient=bsuid)
        except WhatsAppDomainError:
            recipient = None
        if recipient is None or recipient.is_phone:
            return RowReport(line, "error", f"{bsuid!r} is not a business-scoped user id.")
        user_id = recipient.value
    try:
        with transaction.atomic():
            existed = _exists(wa_id=wa_id, user_id=user_id)
            contact = contact_for_address(wa_id=wa_id, user_id=user_id)
            updates: dict[str, object] = {}
            name = row.get("name", "")[:256]
            if name and not contact.name:
                updates["name"] = name
            if row.get("opted_out", "").lower() in TRUE_WORDS and contact.opted_out_at is None:
                updates.update(opted_out_at=timezone.now(), opt_out_source="import")
            if updates:
                Contact.objects.filter(pk=contact.pk).update(**updates, updated_at=timezone.now())
            tags = tags_parse(row.get("tags", ""))
            if tags:
                ContactTag.objects.bulk_create(
                    [ContactTag(contact=contact, name=tag) for tag in tags], ignore_conflicts=True
                )
    except Exception as exc:  # one bad row never stops the others; it is reported
        return RowReport(line, "error", f"Not imported: {type(exc).__name__}.")
    outcome = "updated" if existed else "created"
    who = f"+{wa_id}" if wa_id else user_id
    return RowReport(line, outcome, f"{row.get('name') or contact.name} ({who})", contact.pk)


def _exists(*, wa_id: str, user_id: str) -> bool:
    if user_id:
        return Contact.objects.filter(user_id=user_id).exists()
    return Contact.objects.filter(wa_id=wa_id).exists()


def contacts_export_rows(contacts: Iterable[Contact]) -> Iterator[list[str]]:
    """The header, then one row per contact (tags prefetched by the caller)."""
    yield list(EXPORT_COLUMNS)
    for contact in contacts:
        yield [
            f"+{contact.wa_id}" if contact.wa_id else "",
            contact.user_id or "",
            contact.username,
            _safe_cell(contact.name),
            "; ".join(tag.name for tag in contact.tags.all()),
            "yes" if contact.opted_out_at else "",
            contact.last_seen.isoformat() if contact.last_seen else "",
        ]


def _safe_cell(value: str) -> str:
    """A customer-chosen name must not run as a formula in a spreadsheet (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
