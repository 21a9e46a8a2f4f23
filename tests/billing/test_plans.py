"""Plans and subscriptions: the seeded plans, the free trial every new organization starts
on (through onboarding's settings hook), staff edits and plan moves in the audit log, and
one organization's subscription never being another's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_stub.errors import BillingError
from billing_stub.models import Plan, Subscription
from billing_stub.services.subscriptions import plan_update, subscription_change_plan
from tenants.models import AuditEntry
from tenants.services.onboarding import organization_create

pytestmark = pytest.mark.django_db


def test_free_starter_and_pro_are_seeded_with_limits_and_prices() -> None:
    plans = {plan.code: plan for plan in Plan.objects.all()}
    assert {"free", "starter", "pro"} <= set(plans)
    assert plans["free"].price == Decimal("0.00")
    assert plans["starter"].price == Decimal("49.00")
    assert plans["free"].outbound_messages_per_month == 1000
    assert plans["pro"].campaigns_per_month is None  # unlimited
    assert plans["pro"].overage_unit_price == Decimal("0.005")
    assert all(plan.currency == "USD" for plan in plans.values())


def test_a_new_organization_starts_on_a_free_trial_for_this_month_in_its_zone(settings) -> None:
    organization = organization_create(
        slug="trial-co", name="Trial", admin_email="t@trial.test", admin_password="x-Long-pass-1"
    )
    subscription = Subscription.objects.get(organization=organization)
    assert subscription.plan.code == "free"
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.trial_ends_at is not None
    assert subscription.current_period_start.day == 1
    assert subscription.current_period_end > subscription.current_period_start


def test_session_organizations_have_their_own_subscriptions(org_a, org_b) -> None:
    a = Subscription.objects.get(organization=org_a.organization)
    b = Subscription.objects.get(organization=org_b.organization)
    assert a.pk != b.pk
    subscription_change_plan(organization=org_a.organization, plan_code="pro", actor=None)
    assert Subscription.objects.get(pk=a.pk).plan.code == "pro"
    assert Subscription.objects.get(pk=b.pk).plan.code == "free"


def test_moving_an_organization_between_plans_is_audited_without_proration(
    org_a, make_user
) -> None:
    staff = make_user("staff@platform.test", is_staff=True)
    subscription_change_plan(
        organization=org_a.organization, plan_code="starter", actor=staff, reason="upgrade call"
    )
    entry = AuditEntry.objects.get(action="billing.plan_changed", org_id=org_a.organization.org_id)
    assert entry.actor_label == "staff@platform.test"
    assert entry.reason == "upgrade call"
    assert entry.details == {"from": "free", "to": "starter", "proration": "none"}
    subscription = Subscription.objects.get(organization=org_a.organization)
    assert subscription.status == Subscription.Status.ACTIVE  # a paid plan ends the trial


def test_staff_edit_a_plan_and_the_audit_keeps_before_and_after(make_user) -> None:
    staff = make_user("staff@platform.test", is_staff=True)
    plan = plan_update(
        plan_code="starter",
        changes={"price": Decimal("59.00"), "members": None, "name": "Starter"},
        actor=staff,
    )
    assert plan.price == Decimal("59.00") and plan.members is None
    entry = AuditEntry.objects.get(action="billing.plan_updated")
    assert entry.details == {
        "plan": "starter",
        "changes": {
            "price": {"before": "49.00", "after": "59.00"},
            "members": {"before": 10, "after": None},
        },
    }


def test_unknown_plans_and_fields_are_refused() -> None:
    with pytest.raises(BillingError):
        plan_update(plan_code="nope", changes={"price": 1}, actor=None)
    with pytest.raises(BillingError):
        plan_update(plan_code="free", changes={"code": "x"}, actor=None)
    assert not AuditEntry.objects.filter(action="billing.plan_updated").exists()


def test_a_plan_edited_in_the_admin_is_audited(make_user) -> None:
    from tests.clients import staff_client

    staff = make_user("root@platform.test", is_staff=True, is_superuser=True)
    public_client = staff_client(staff)
    plan = Plan.objects.get(code="starter")
    form = {
        "name": "Starter",
        "price": "55.00",
        "currency": "USD",
        "connected_numbers": "3",
        "members": "10",
        "contacts": "10000",
        "outbound_messages_per_month": "12000",
        "campaigns_per_month": "20",
        "api_requests_per_minute": "300",
        "overage_unit_price": "",
        "is_public": "on",
    }
    response = public_client.post(f"/admin/billing_stub/plan/{plan.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    plan.refresh_from_db()
    assert (plan.price, plan.outbound_messages_per_month) == (Decimal("55.00"), 12000)
    entry = AuditEntry.objects.get(action="billing.plan_updated")
    assert entry.actor_label == "root@platform.test"
    assert set(entry.details["changes"]) == {"price", "outbound_messages_per_month"}


def test_organizations_older_than_billing_get_the_trial_from_the_migration(org_a, org_b) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "billing_stub.migrations.0003_subscriptions_for_existing_organizations"
    )
    Subscription.objects.filter(organization=org_a.organization).delete()
    migration.subscribe(apps, None)
    subscription = Subscription.objects.get(organization=org_a.organization)
    assert (subscription.plan.code, subscription.status) == ("free", "trialing")
    assert subscription.current_period_start.day == 1
    assert Subscription.objects.filter(organization=org_b.organization).count() == 1
    assert not Subscription.objects.filter(organization__schema_name="public").exists()
