"""Quota checks other parts of the product call before they commit work (the contract).

Callers (the campaign flight plan, the outbound creation path, onboarding of numbers and
members) depend only on the two names below, so the billing implementation can change behind
them. Until plans are enforced every limit is unlimited: `quota_headroom` returns None and
`quota_check` never raises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Limit names a plan can carry (billing issue): the `limit` argument below is one of these.
LIMITS = (
    "connected_numbers",
    "members",
    "contacts",
    "outbound_messages_per_month",
    "campaigns_per_month",
    "api_requests_per_minute",
)


@dataclass(frozen=True)
class QuotaExceeded(Exception):
    """A request would take the organization past a limit of its plan.

    The API renders it as `{"error": {"code": "quota_exceeded", "limit", "used", "allowed",
    "resets_at"}}`; `resets_at` is None for limits that do not reset with the period.
    """

    limit: str
    used: int
    allowed: int
    resets_at: dt.datetime | None = None

    def __str__(self) -> str:
        return f"Plan limit reached: {self.limit} ({self.used} of {self.allowed} used)."


def quota_headroom(*, organization_id: int, limit: str) -> int | None:
    """How many more units of `limit` the organization may use now; None means unlimited.

    Raises ValueError for a name not in LIMITS.
    """
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    return None


def quota_check(*, organization_id: int, limit: str, amount: int = 1) -> None:
    """Raise QuotaExceeded when using `amount` more units of `limit` would pass the plan."""
    headroom = quota_headroom(organization_id=organization_id, limit=limit)
    if headroom is not None and amount > headroom:
        raise QuotaExceeded(limit=limit, used=0, allowed=headroom)
