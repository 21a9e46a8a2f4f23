"""Subscriptions: the trial every new organization starts on, plan moves and edits by staff
(each recorded in the audit log), and the payment state (past due, paid)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing_stub.errors import BillingError
from billing_stub.models import Plan, Subscription
from billing_stub.periods import period_of
from tenants.models import Organization
from tenants.services.audit import audit_record

logger = logging.getLogger(__name__)

# What staff may change on a plan (plan_update); the code is its identity and stays.
PLAN_FIELDS = (
    "name",
    "price",
    "currency",
    "connected_numbers",
    "members",
    "contacts",
    "outbound_messages_per_month",
    "campaigns_per_month",
    "api_requests_per_minute",
    "overage_unit_price",
    "is_public",
)


def subscription_start_trial(*, organization: Organization) -> Subscription:
    """Start `organization` on a trial of the plan BILLING_TRIAL_PLAN (free) for
    BILLING_TRIAL_DAYS; its first period is the current calendar month in its time zone.
    Called by onboarding (settings TENANT_ORGANIZATION_CREATED_HOOKS) in its transaction.
    Idempotent: an existing subscription is returned unchanged."""
    existing = Subscription.objects.filter(organization=organization).first()
    if existing is not None:
        return existing
    plan = Plan.objects.get(code=settings.BILLING_TRIAL_PLAN)
    now = timezone.now()
    period = period_of(time_zone=organization.time_zone, at=now)
    subscription, _ = Subscription.objects.get_or_create(
        organization=organization,
        defaults={
            "plan": plan,
            "status": Subscription.Status.TRIALING,
            "current_period_start": period.start,
            "current_period_end": period.end,
            "trial_ends_at": now + dt.timedelta(days=settings.BILLING_TRIAL_DAYS),
        },
    )
    logger.info("subscription trial started: org=%s plan=%s", organization.slug, plan.code)
    return subscription


def subscription_for(*, organization_id: int, lock: bool = False) -> Subscription:
    """The organization's subscription (with plan and organization), started as a trial if it
    predates billing. `lock`: SELECT ... FOR UPDATE (call inside a transaction).
    Raises Organization.DoesNotExist for an unknown id."""
    query = Subscription.objects.select_related("plan", "organization")
    if lock:
        query = query.select_for_update(of=("self",))
    subscription = query.filter(organization_id=organization_id).first()
    if subscription is None:
        with transaction.atomic():
            subscription_start_trial(organization=Organization.objects.get(pk=organization_id))
        subscription = query.get(organization_id=organization_id)
    return subscription


@transaction.atomic
def subscription_change_plan(
    *, organization: Organization, plan_code: str, actor: Any, reason: str = ""
) -> Subscription:
    """Move `organization` to plan `plan_code` from now on (staff). No proration: the new plan's
    fee is invoiced for the whole current period; the move is recorded in the audit log
    (`billing.plan_changed`, with from/to and `proration: none`). Raises BillingError for an
    unknown plan."""
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        raise BillingError(f"No plan {plan_code!r}.")
    subscription = subscription_for(organization_id=organization.pk, lock=True)
    previous = subscription.plan.code
    subscription.plan = plan
    if subscription.status == Subscription.Status.TRIALING and plan.price > 0:
        subscription.status = Subscription.Status.ACTIVE
    subscription.save(update_fields=["plan", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="billing.plan_changed",
        organization=organization,
        reason=reason,
        details={"from": previous, "to": plan.code, "proration": "none"},
    )
    return subscription


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@transaction.atomic
def plan_update(*, plan_code: str, changes: dict[str, Any], actor: Any, reason: str = "") -> Plan:
    """Edit a plan's name, price, currency or limits (staff); None makes a limit unlimited.
    Applies to every subscriber from now on. Recorded as `billing.plan_updated` with each
    changed field's before and after. Raises BillingError for an unknown plan or field."""
    plan = Plan.objects.select_for_update().filter(code=plan_code).first()
    if plan is None:
        raise BillingError(f"No plan {plan_code!r}.")
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise BillingError(f"Plans have no field {', '.join(sorted(unknown))}.")
    diff = {}
    for name, value in changes.items():
        before = getattr(plan, name)
        if before != value:
            diff[name] = {"before": _jsonable(before), "after": _jsonable(value)}
            setattr(plan, name, value)
    if diff:
        plan.full_clean()
        plan.save()
        audit_record(
            actor=actor,
            action="billing.plan_updated",
            reason=reason,
            details={"plan": plan.code, "changes": diff},
        )
    return plan


def subscription_mark_past_due(*, subscription: Subscription, reason: str) -> None:
    """A charge failed: the subscription is past due from now (if it was not already)."""
    if subscription.status != Subscription.Status.PAST_DUE:
        subscription.status = Subscription.Status.PAST_DUE
        subscription.past_due_since = timezone.now()
        subscription.save(update_fields=["status", "past_due_since", "updated_at"])
        audit_record(
            actor=None,
            action="billing.past_due",
            organization=subscription.organization,
            reason=reason,
        )


def subscription_mark_paid(*, subscription: Subscription) -> None:
    """A charge succeeded: a past-due subscription is active again."""
    if subscription.status == Subscription.Status.PAST_DUE:
        subscription.status = Subscription.Status.ACTIVE
        subscription.past_due_since = None
        subscription.save(update_fields=["status", "past_due_since", "updated_at"])
