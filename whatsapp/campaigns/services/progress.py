"""What a campaign's recipients became: counts by state, failures by reason, the send rate,
an ETA, and the recipients list and results export.

A recipient's state is its own until dispatched (pending, skipped), then its message's:
queued (queued or sending), accepted, sent, delivered, read (read or played), failed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When
from django.utils import timezone

from whatsapp.campaigns.models import Campaign, CampaignRecipient
from whatsapp.models import WhatsAppMessage

MStatus = WhatsAppMessage.Status
STATES = ("pending", "queued", "accepted", "sent", "delivered", "read", "failed", "skipped")
RATE_WINDOW = 30.0  # seconds of Meta's answers the rate is measured over

RECIPIENT_STATE = Case(
    When(message__isnull=True, then=F("state")),
    When(message__status__in=[MStatus.QUEUED, MStatus.SENDING], then=Value("queued")),
    When(message__status=MStatus.PLAYED, then=Value("read")),
    default=F("message__status"),
    output_field=CharField(),
)


def recipients_with_state(*, campaign_id: int) -> QuerySet[CampaignRecipient]:
    """The campaign's recipients annotated `current_state` (see the module docstring), with
    their message's code and reason."""
    return (
        CampaignRecipient.objects.filter(campaign_id=campaign_id)
        .select_related("message")
        .annotate(current_state=RECIPIENT_STATE)
        .order_by("id")
    )


def campaign_counts(*, campaign_id: int) -> dict[str, int]:
    """{state: recipients} for every state in STATES (zeros included); one query."""
    counts = dict.fromkeys(STATES, 0)
    rows = (
        CampaignRecipient.objects.filter(campaign_id=campaign_id)
        .annotate(current_state=RECIPIENT_STATE)
        .values("current_state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["current_state"]] = counts.get(row["current_state"], 0) + row["n"]
    return counts


def campaign_failures(*, campaign_id: int) -> list[dict[str, Any]]:
    """Failed recipients by (Meta's code, our reason), most frequent first, plus skipped ones by
    reason: `[{"code": 131026 | None, "reason": "undeliverable", "count": 3}, ...]`."""
    failed = (
        CampaignRecipient.objects.filter(campaign_id=campaign_id, message__status=MStatus.FAILED)
        .values("message__error_code", "message__failure_reason")
        .annotate(n=Count("id"))
    )
    skipped = (
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, state=CampaignRecipient.State.SKIPPED
        )
        .values("skip_reason")
        .annotate(n=Count("id"))
    )
    out = [
        {"code": r["message__error_code"], "reason": r["message__failure_reason"] or "meta_error",
         "count": r["n"], "kind": "failed"}
        for r in failed
    ] + [
        {"code": None, "reason": r["skip_reason"], "count": r["n"], "kind": "skipped"}
        for r in skipped
    ]  # fmt: skip
    return sorted(out, key=lambda r: -r["count"])


def campaign_progress(*, campaign: Campaign) -> dict[str, Any]:
    """Counts, the rate Meta accepted sends at over the last RATE_WINDOW seconds (per
    second), the ETA in seconds for what is left at that rate, and the share done (0..1)."""
    counts = campaign_counts(campaign_id=campaign.pk)
    now = timezone.now()
    window = RATE_WINDOW
    if campaign.started_at:
        window = max(1.0, min(window, (now - campaign.started_at).total_seconds()))
    recent = CampaignRecipient.objects.filter(
        campaign_id=campaign.pk, message__accepted_at__gte=now - timedelta(seconds=window)
    ).count()
    rate = recent / window if campaign.state == Campaign.State.RUNNING else 0.0
    total = sum(counts.values())
    left = counts["pending"] + counts["queued"]
    done = total - left
    return {
        "counts": counts,
        "total": total,
        "done": done,
        "share_done": round(done / total, 4) if total else 0.0,
        "rate_per_second": round(rate, 2),
        "eta_seconds": round(left / rate) if rate > 0 else None,
    }


RESULT_COLUMNS = (
    "recipient_id", "contact_id", "address", "country", "line", "state", "skip_reason",
    "attempt", "wamid", "error_code", "failure_reason", "error_message", "accepted_at",
    "sent_at", "delivered_at", "read_at", "failed_at", "variables",
)  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def campaign_results_csv(*, campaign_id: int) -> Iterator[str]:
    """Every recipient's outcome as CSV lines (RESULT_COLUMNS first), streamed in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow(RESULT_COLUMNS)
    for r in recipients_with_state(campaign_id=campaign_id).iterator(chunk_size=2000):
        m = r.message
        stamps = [getattr(m, f, None) if m else None for f in
                  ("accepted_at", "sent_at", "delivered_at", "read_at", "failed_at")]  # fmt: skip
        yield writer.writerow(
            [
                r.pk, r.contact_id, r.address, r.country, r.line or "", r.current_state,
                r.skip_reason, r.attempt, (m.wamid if m else "") or "",
                (m.error_code if m else "") or "", (m.failure_reason if m else "") or "",
                (m.error_message if m else "") or "",
                *[t.isoformat() if t else "" for t in stamps],
                json.dumps(r.variables, ensure_ascii=False),
            ]
        )  # fmt: skip
