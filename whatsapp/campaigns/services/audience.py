"""Who a campaign goes to: contacts by tag, an explicit list, or a CSV file (phone or BSUID
plus variable columns) read with a report on every row it could not use.

CSV: a header row, names case-insensitive; `phone` (international, with country code,
normalised by `whatsapp.services.outbound.recipient_normalize`) or `bsuid` (a business-scoped
user id: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/)
identify the row; every other column is a value a variable can take. Contacts unknown so far
are created in bulk through `whatsapp.services.contacts.contacts_for_addresses` (the
contacts service's writer for many addresses at once).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from whatsapp.campaigns.errors import CampaignInvalidError
from whatsapp.errors import InvalidRecipientError
from whatsapp.models import Contact
from whatsapp.services.contacts import contacts_for_addresses
from whatsapp.services.outbound import recipient_normalize

CSV_MAX_BYTES = 20 * 1024 * 1024
CSV_MAX_ROWS = 200_000
PHONE_COLUMNS = ("phone", "wa_id", "phone_number", "number")
BSUID_COLUMNS = ("bsuid", "user_id")
REPORT_MAX_ROWS = 1000  # problems listed one by one; counts are always complete
CONTACT_COLUMNS = ("id", "wa_id", "user_id", "name", "username", "opted_out_at")


class AudienceContact(NamedTuple):
    """What planning reads of a contact: a row, not a model instance (100,000 of them)."""

    pk: int
    wa_id: str | None
    user_id: str | None
    name: str
    username: str
    opted_out_at: datetime | None

    @property
    def address(self) -> str:
        return self.wa_id or self.user_id or ""

    @classmethod
    def of(cls, contact: Contact) -> AudienceContact:
        return cls(*(getattr(contact, column) for column in CONTACT_COLUMNS))


@dataclass
class AudienceRow:
    """One audience member: the contact, and the CSV line and values it came with (if any)."""

    contact: AudienceContact
    line: int | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ImportReport:
    """The CSV file's rows it could not use, by line (1 = the header)."""

    rows: int = 0
    accepted: int = 0
    problems: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    created_contacts: int = 0  # contacts the file named that did not exist yet

    def problem(self, *, line: int, reason: str, value: str = "", message: str = "") -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if len(self.problems) < REPORT_MAX_ROWS:
            self.problems.append(
                {"line": line, "reason": reason, "value": value[:160], "message": message}
            )

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "problems": self.problems,
            "counts": self.counts,
            "columns": self.columns,
            "unknown_columns": self.unknown_columns,
            "created_contacts": self.created_contacts,
        }


def contacts_by_tags(tags: Iterable[str]) -> list[AudienceRow]:
    names = [t.strip().lower() for t in tags if t and t.strip()]
    rows = Contact.objects.filter(tags__name__in=names).distinct().order_by("pk")
    return [
        AudienceRow(contact=AudienceContact(*row))
        for row in rows.values_list(*CONTACT_COLUMNS).iterator(chunk_size=5000)
    ]


def contacts_by_ids(ids: Iterable[int]) -> list[AudienceRow]:
    """The listed contacts of this organization (ids of other schemas simply do not exist)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    rows = Contact.objects.filter(pk__in=wanted).values_list(*CONTACT_COLUMNS)
    found = {row[0]: AudienceContact(*row) for row in rows}
    return [AudienceRow(contact=found[i]) for i in wanted if i in found]


def _header(reader_fieldnames: list[str] | None) -> list[str]:
    if not reader_fieldnames:
        raise CampaignInvalidError("The CSV file has no header row.", field="csv")
    return [(name or "").strip().lower() for name in reader_fieldnames]


def _delimiter(text: str) -> str:
    """`,`, or `;` / tab when the header row uses that instead (spreadsheets in many locales
    export CSV with `;`)."""
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count) if header.count(",") == 0 else ","


def csv_audience(
    *, data: bytes, known_columns: Iterable[str]
) -> tuple[list[AudienceRow], ImportReport]:
    """Read a CSV file into audience rows and a report (invalid number, duplicate, missing id,
    unknown column). `known_columns`: columns the variable mapping uses (any other column
    than the identity columns is reported unknown). Raises CampaignInvalidError for a file that
    cannot be read at all."""
    if len(data) > CSV_MAX_BYTES:
        raise CampaignInvalidError("The CSV file is larger than 20 MB.", field="csv")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CampaignInvalidError("The CSV file is not UTF-8 text.", field="csv") from None
    if "\x00" in text:
        raise CampaignInvalidError(
            "The CSV file holds NUL characters: export it again as CSV (UTF-8) text.", field="csv"
        )
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    header = _header(next(reader, None))
    report = ImportReport(columns=header)
    id_columns = [c for c in header if c in PHONE_COLUMNS + BSUID_COLUMNS]
    if not id_columns:
        raise CampaignInvalidError("The CSV file needs a `phone` or `bsuid` column.", field="csv")
    known = set(known_columns) | set(PHONE_COLUMNS) | set(BSUID_COLUMNS) | {"name"}
    report.unknown_columns = [c for c in header if c and c not in known]
    parsed: list[tuple[int, str, bool, dict[str, str]]] = []  # line, address, is_phone, values
    seen: set[str] = set()
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        report.rows += 1
        if report.rows > CSV_MAX_ROWS:
            raise CampaignInvalidError(f"More than {CSV_MAX_ROWS} rows.", field="csv")
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in
                  enumerate(header) if name}  # fmt: skip
        raw = next((values[c] for c in BSUID_COLUMNS if values.get(c)), "") or next(
            (values[c] for c in PHONE_COLUMNS if values.get(c)), ""
        )
        if not raw:
            report.problem(line=line, reason="missing_identity", message="No phone or bsuid.")
            continue
        try:
            recipient = recipient_normalize(recipient=raw)
        except InvalidRecipientError as exc:
            report.problem(line=line, reason="invalid_number", value=raw, message=exc.message)
            continue
        if recipient.value in seen:
            report.problem(line=line, reason="duplicate", value=raw)
            continue
        seen.add(recipient.value)
        parsed.append((line, recipient.value, recipient.is_phone, values))
    rows, report.created_contacts = _rows_with_contacts(parsed)
    report.accepted = len(rows)
    return rows, report


def _rows_with_contacts(
    parsed: list[tuple[int, str, bool, dict[str, str]]],
) -> tuple[list[AudienceRow], int]:
    """Find the contacts of the parsed rows and create the others, in bulk
    (`contacts_for_addresses`, a few statements per 5,000). Returns the rows and how many
    contacts were created."""
    by_wa_id, by_user_id, created = contacts_for_addresses(
        wa_ids=[address for _, address, is_phone, _ in parsed if is_phone],
        user_ids=[address for _, address, is_phone, _ in parsed if not is_phone],
        fields=CONTACT_COLUMNS,
    )
    rows = []
    for line, address, is_phone, values in parsed:
        known = by_wa_id[address] if is_phone else by_user_id[address]
        rows.append(AudienceRow(contact=AudienceContact.of(known), line=line, values=values))
    return rows, created
