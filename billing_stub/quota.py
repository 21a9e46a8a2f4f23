"""Quota checks other parts of the product call before they commit work (the contract).

Callers (the campaign flight plan, the outbound creation path, onboarding of numbers and
members, the contact import) depend only on the names below, so the billing implementation can
change behind them. Limits come from the organization's plan (billing_stub.models.Plan; NULL =
unlimited). Two kinds:

- per period (`outbound_messages_per_month`, `campaigns_per_month`): counted in
  billing_stub.models.UsageCounter over the organization's calendar month in its time zone;
  `quota_use` checks and counts in one step, under the subscription's row lock, inside the
  caller's transaction: concurrent senders queue on that lock, so the limit is never passed
  (overshoot 0), and a rolled-back send takes its count back with it.
- current counts (`connected_numbers`, `members` incl. open invitations, `contacts`): the rows
  themselves are the usage; `quota_check` takes the same lock, so two concurrent invitations
  cannot both take the last seat.

`api_requests_per_minute` is enforced by billing_stub.throttles (Redis, shared by processes).
Settings BILLING_ENFORCEMENT = False meters everything and refuses nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from tenants.errors import PlanLimitError
from tenants.models import Invitation, Membership, Organization, PhoneNumber

#: Limit names a plan can carry (billing issue): the `limit` argument below is one of these.
LIMITS = (
    "connected_numbers",
    "members",
    "contacts",
    "outbound_messages_per_month",
    "campaigns_per_month",
    "api_requests_per_minute",
)
#: Limits that reset with the period, and the UsageCounter metric that counts each.
PERIOD_METRICS = {
    "outbound_messages_per_month": "outbound_messages",
    "campaigns_per_month": "campaigns_started",
}


# What Python itself sets on an exception in flight: `contextlib` assigns `__traceback__` when
# an exception leaves a `@contextmanager` block (schema_context, tenant_context), which a
# frozen dataclass would refuse with FrozenInstanceError instead of the exception.
_EXCEPTION_STATE = frozenset(
    {"__traceback__", "__cause__", "__context__", "__suppress_context__", "__notes__"}
)


def raisable(cls: type) -> type:
    """Keep a frozen dataclass exception's fields read-only but let Python set its traceback
    and chaining (apply after `@dataclass(frozen=True)`, on every such class)."""
    frozen_setattr = cls.__setattr__

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name in _EXCEPTION_STATE:
            object.__setattr__(self, name, value)
        else:
            frozen_setattr(self, name, value)

    cls.__setattr__ = __setattr__
    return cls


@raisable
@dataclass(frozen=True)
class QuotaExceeded(PlanLimitError):
    """A request would take the organization past a limit of its plan.

    The API renders it as `{"error": {"code": "quota_exceeded", "limit", "used", "allowed",
    "resets_at"}}`; `resets_at` is None for limits that do not reset with the period.
    """

    limit: str
    used: int
    allowed: int
    resets_at: dt.datetime | None = None

    code = "quota_exceeded"

    def __str__(self) -> str:
        return f"Plan limit reached: {self.limit} ({self.used} of {self.allowed} used)."

    def as_error(self) -> dict[str, Any]:
        """The body of the API's `error` object (ISO 8601 `resets_at`)."""
        return {
            "code": self.code,
            "message": str(self),
            "limit": self.limit,
            "used": self.used,
            "allowed": self.allowed,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
        }


@raisable
@dataclass(frozen=True)
class PaymentPastDue(QuotaExceeded):
    """Outbound sending is refused: the subscription is past due beyond the grace period (or
    cancelled). Receiving goes on. A QuotaExceeded (of `outbound_messages_per_month`), so
    callers that handle the quota handle it too; the API renders it as
    `{"error": {"code": "payment_past_due", "status", "past_due_since", ...}}`."""

    limit: str = "outbound_messages_per_month"
    used: int = 0
    allowed: int = 0
    status: str = "past_due"
    since: dt.datetime | None = None

    code = "payment_past_due"

    def __str__(self) -> str:
        if self.status == "cancelled":
            return "Sending is stopped: the subscription is cancelled."
        return "Sending is stopped: a payment is past due. Update the payment to send again."

    def as_error(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": str(self),
            "status": self.status,
            "past_due_since": self.since.isoformat() if self.since else None,
        }


def _enforced() -> bool:
    return bool(getattr(settings, "BILLING_ENFORCEMENT", True))


def _subscription(organization_id: int, *, lock: bool):
    from billing_stub.services.subscriptions import subscription_for

    return subscription_for(organization_id=organization_id, lock=lock)


def gauge_used(*, organization: Organization, limit: str) -> int:
    """How much of a non-period limit is in use now (rows counted)."""
    if limit == "connected_numbers":
        return PhoneNumber.objects.filter(organization=organization).count()
    if limit == "members":
        members = Membership.objects.filter(organization=organization).count()
        invited = Invitation.objects.filter(
            organization=organization,
            accepted_at=None,
            revoked_at=None,
            expires_at__gt=timezone.now(),
        ).count()
        return members + invited
    if limit == "contacts":
        counter = import_string(settings.BILLING_CONTACTS_COUNT)
        if connection.schema_name == organization.schema_name:
            return int(counter())
        with schema_context(organization.schema_name):
            return int(counter())
    raise ValueError(f"{limit!r} is not a current-count limit")


def period_used(*, organization: Organization, limit: str, at: dt.datetime | None = None) -> int:
    """Units of a period limit used in the period holding `at` (default now)."""
    from billing_stub.models import UsageCounter
    from billing_stub.periods import period_of

    period = period_of(time_zone=organization.time_zone, at=at)
    total = UsageCounter.objects.filter(
        organization=organization,
        metric=PERIOD_METRICS[limit],
        day__gte=period.first_day,
        day__lte=period.last_day,
    ).aggregate(total=Sum("quantity"))["total"]
    return int(total or 0)


def _past_due_check(subscription) -> None:
    status = subscription.Status
    if subscription.status == status.CANCELLED:
        raise PaymentPastDue(status=subscription.status)
    if subscription.status == status.PAST_DUE and subscription.past_due_since is not None:
        grace = dt.timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)
        if timezone.now() >= subscription.past_due_since + grace:
            raise PaymentPastDue(status=subscription.status, since=subscription.past_due_since)


def _state(organization_id: int, limit: str, *, lock: bool, at: dt.datetime | None = None):
    """(subscription, allowed or None, used, resets_at) of `limit` for the organization."""
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    subscription = _subscription(organization_id, lock=lock)
    organization = subscription.organization
    allowed = subscription.plan.limit(limit)
    if limit == "api_requests_per_minute":
        return subscription, allowed, 0, None
    if limit in PERIOD_METRICS:
        from billing_stub.periods import period_of

        used = period_used(organization=organization, limit=limit, at=at)
        return subscription, allowed, used, period_of(time_zone=organization.time_zone, at=at).end
    return subscription, allowed, gauge_used(organization=organization, limit=limit), None


def quota_headroom(*, organization_id: int, limit: str) -> int | None:
    """How many more units of `limit` the organization may use now; None means unlimited.

    0 for outbound messages once sending is stopped for a past-due payment. Raises ValueError
    for a name not in LIMITS.
    """
    subscription, allowed, used, _ = _state(organization_id, limit, lock=False)
    if not _enforced():
        return None
    if limit == "outbound_messages_per_month":
        try:
            _past_due_check(subscription)
        except PaymentPastDue:
            return 0
        if subscription.plan.overage_unit_price is not None:
            return None
    if allowed is None:
        return None
    return max(allowed - used, 0)


def quota_check(*, organization_id: int, limit: str, amount: int = 1) -> None:
    """Raise QuotaExceeded when using `amount` more units of `limit` would pass the plan
    (PaymentPastDue for outbound messages when sending is stopped). Counts nothing: period
    limits are counted by `quota_use`. Inside a transaction it holds the subscription's row
    lock until commit, so the caller's insert cannot race another's past the limit."""
    if not _enforced():
        return
    subscription, allowed, used, resets_at = _state(
        organization_id, limit, lock=connection.in_atomic_block
    )
    if limit == "outbound_messages_per_month":
        _past_due_check(subscription)
        if subscription.plan.overage_unit_price is not None:
            return
    if allowed is not None and used + amount > allowed:
        raise QuotaExceeded(limit=limit, used=used, allowed=allowed, resets_at=resets_at)


def quota_use(
    *, organization_id: int, limit: str, amount: int = 1, at: dt.datetime | None = None
) -> None:
    """Check and count `amount` units of a period limit (`outbound_messages_per_month`,
    `campaigns_per_month`) in the caller's transaction; raises QuotaExceeded (nothing counted;
    the caller's transaction should roll back its work) or PaymentPastDue (outbound). Call it
    after inserting the rows it counts and with the number actually inserted, so duplicates
    skipped by an idempotency key are not counted. The row lock it takes is held to commit."""
    if limit not in PERIOD_METRICS:
        raise ValueError(f"{limit!r} is not counted per period")
    if amount <= 0:
        return
    from billing_stub.services.metering import usage_record

    subscription, allowed, used, resets_at = _state(organization_id, limit, lock=True, at=at)
    if _enforced():
        if limit == "outbound_messages_per_month":
            _past_due_check(subscription)
        overage = (
            limit == "outbound_messages_per_month"
            and subscription.plan.overage_unit_price is not None
        )
        if allowed is not None and not overage and used + amount > allowed:
            raise QuotaExceeded(limit=limit, used=used, allowed=allowed, resets_at=resets_at)
    usage_record(
        organization=subscription.organization,
        metric=PERIOD_METRICS[limit],
        quantity=amount,
        at=at,
    )
