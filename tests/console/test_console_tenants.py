"""The tenants list and page, suspension and reactivation through the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import AuditEntry, Organization, OrganizationSuspension, WebhookChange
from tenants.services.credentials import credential_store
from tests.clients import api_client, obtain_tokens
from tests.conftest import in_tenant
from tests.factories import (
    IncomingMessageFactory,
    OutgoingMessageFactory,
    PhoneNumberFactory,
    WebhookChangeFactory,
)

pytestmark = pytest.mark.django_db


def test_list_shows_counts_and_filters(console, org_a, org_b):
    PhoneNumberFactory(organization=org_a.organization, quality_rating="RED")
    PhoneNumberFactory(organization=org_b.organization, quality_rating="GREEN")
    with in_tenant(org_a):
        IncomingMessageFactory()
        IncomingMessageFactory(timestamp=timezone.now() - timedelta(days=3))
        OutgoingMessageFactory(timestamp=timezone.now())
    credential_store(organization=org_b.organization, access_token="EAA-b")
    org_b.organization.credential.state = "invalid"
    org_b.organization.credential.save()

    body = console.get("/console/tenants/").content.decode()
    assert "Alpha" in body and "Beta" in body
    assert "1 / 1" in body  # alpha: 1 in, 1 out in 24 h
    assert "2 / 1" in body  # alpha: 2 in, 1 out in 30 d

    low = console.get("/console/tenants/?low_quality=on").content.decode()
    assert "/console/tenants/alpha/" in low and "/console/tenants/beta/" not in low
    halted = console.get("/console/tenants/?halted=on").content.decode()
    assert "/console/tenants/beta/" in halted and "/console/tenants/alpha/" not in halted
    search = console.get("/console/tenants/?q=bet").content.decode()
    assert "/console/tenants/beta/" in search and "/console/tenants/alpha/" not in search


def test_list_costs_the_same_queries_whatever_the_number_of_rows(console, org_a, org_b):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert console.get("/console/tenants/").status_code == 200
        return len(captured)

    before = queries()
    for slug in ("gamma", "delta", "epsilon"):
        Organization(slug=slug, name=slug, schema_name=f"org_{slug}").save(verbosity=0)
    assert queries() == before


def test_tenant_page_shows_token_state_never_the_token(console, org_a):
    credential_store(organization=org_a.organization, access_token="EAA-very-secret-token")
    body = console.get("/console/tenants/alpha/").content.decode()
    assert "EAA-very-secret-token" not in body
    assert org_a.organization.credential.masked in body
    assert "Refresh now" in body
    assert 'id="plan-and-usage"' in body
    assert org_a.admin_email in body


def test_tenant_page_shows_each_number_with_one_plus(console, org_a):
    PhoneNumberFactory(organization=org_a.organization, display_number="+15550004444")
    PhoneNumberFactory(organization=org_a.organization, display_number="15550004445")
    body = console.get("/console/tenants/alpha/").content.decode()
    assert "<h3>+15550004444</h3>" in body and "<h3>+15550004445</h3>" in body
    assert "++" not in body


def test_suspend_needs_confirmation_then_api_refuses_and_reactivation_releases(
    console, org_a, org_b
):
    access = obtain_tokens(org_a)["access"]
    # Without the confirmation box nothing happens.
    response = console.post(
        "/console/tenants/alpha/suspend/", {"category": "abuse", "reason": "spam reports"}
    )
    assert response.status_code == 400
    org_a.organization.refresh_from_db()
    assert org_a.organization.is_active

    response = console.post(
        "/console/tenants/alpha/suspend/",
        {"category": "abuse", "reason": "spam reports", "confirm": "on"},
    )
    assert response.status_code == 302
    org_a.organization.refresh_from_db()
    assert org_a.organization.status == "suspended"
    refused = api_client(org_a, token=access).get("/api/v1/messages/")
    assert refused.status_code == 401
    assert "suspended" in refused.content.decode()
    # Another organization is untouched.
    assert (
        api_client(org_b, token=obtain_tokens(org_b)["access"]).get("/api/v1/messages/").status_code
        == 200
    )

    held = [
        WebhookChangeFactory(
            organization=org_a.organization,
            state=WebhookChange.State.HELD,
            phone_number_id=PhoneNumberFactory(organization=org_a.organization).phone_number_id,
        )
        for _ in range(3)
    ]
    other = WebhookChangeFactory(organization=org_b.organization, state=WebhookChange.State.HELD)
    response = console.post(
        "/console/tenants/alpha/reactivate/", {"reason": "customer fixed it", "confirm": "on"}
    )
    assert response.status_code == 302
    org_a.organization.refresh_from_db()
    assert org_a.organization.is_active
    states = dict(
        WebhookChange.objects.filter(pk__in=[c.pk for c in held]).values_list("pk", "state")
    )
    assert set(states.values()) == {WebhookChange.State.PENDING}
    other.refresh_from_db()
    assert other.state == WebhookChange.State.HELD  # not another tenant's

    suspension = OrganizationSuspension.objects.get(organization=org_a.organization)
    assert suspension.category == "abuse" and suspension.reactivation_reason == "customer fixed it"
    actions = list(
        AuditEntry.objects.filter(org_id=org_a.organization.org_id).values_list("action", flat=True)
    )
    assert {"organization.suspended", "organization.reactivated", "webhook.held_released"} <= set(
        actions
    )
    page = console.get("/console/tenants/alpha/").content.decode()
    assert "spam reports" in page and "customer fixed it" in page
    assert api_client(org_a, token=access).get("/api/v1/messages/").status_code == 200


def test_suspend_refuses_get_changes_and_missing_csrf(staff_user, org_a):
    from django.conf import settings
    from django.test import Client

    from tests.console.conftest import console_sign_in

    client = console_sign_in(staff_user)
    client.handler.enforce_csrf_checks = True
    response = client.post(
        "/console/tenants/alpha/suspend/",
        {"category": "abuse", "reason": "x", "confirm": "on"},
    )
    assert response.status_code == 403
    org_a.organization.refresh_from_db()
    assert org_a.organization.is_active
    assert (
        Client(HTTP_HOST=settings.BASE_DOMAIN).get("/console/tenants/alpha/suspend/").status_code
        == 302
    )


def test_staff_creates_an_organization_through_onboarding(console):
    response = console.post(
        "/console/tenants/new/",
        {"name": "Gamma Shop", "slug": "gamma-shop", "admin_email": "Owner@Gamma.test"},
    )
    assert response.status_code == 302
    organization = Organization.objects.get(slug="gamma-shop")
    assert organization.memberships.get().user.username == "owner@gamma.test"
    entry = AuditEntry.objects.get(action="organization.created", org_slug="gamma-shop")
    assert entry.org_slug == "gamma-shop" and entry.actor_label == "ops@platform.test"
    taken = console.post(
        "/console/tenants/new/",
        {"name": "Again", "slug": "gamma-shop", "admin_email": "x@gamma.test"},
    )
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    reserved = console.post(
        "/console/tenants/new/",
        {"name": "New", "slug": "new", "admin_email": "x@new.test"},
    )
    assert reserved.status_code == 400 and "is reserved" in reserved.content.decode()
    assert not Organization.objects.filter(slug="new").exists()


def test_staff_schedules_and_cancels_a_deletion_with_confirmation(console, org_a, org_b):
    """Offboarding from the console: confirmation first, then suspended + scheduled + audited;
    cancelling restores the organization. Another organization is untouched."""
    from tenants.models import OrganizationDeletion

    page = console.get("/console/tenants/alpha/delete/")
    assert page.status_code == 200 and "dropped for good" in page.content.decode()
    response = console.post("/console/tenants/alpha/delete/", {"reason": "contract ended"})
    assert response.status_code == 400  # no confirmation box: nothing happens
    assert not OrganizationDeletion.objects.filter(org_id=org_a.organization.org_id).exists()

    response = console.post(
        "/console/tenants/alpha/delete/", {"reason": "contract ended", "confirm": "on"}
    )
    assert response.status_code == 302
    deletion = OrganizationDeletion.objects.get(org_id=org_a.organization.org_id)
    assert deletion.state == OrganizationDeletion.State.SCHEDULED
    assert deletion.scheduled_for > timezone.now() + timedelta(days=1)
    org_a.organization.refresh_from_db()
    assert org_a.organization.status == "suspended"
    org_b.organization.refresh_from_db()
    assert org_b.organization.is_active
    page = console.get("/console/tenants/alpha/").content.decode()
    assert "Deletion scheduled" in page and "contract ended" in page
    # A second request is refused with the reason, not a second deletion.
    again = console.post("/console/tenants/alpha/delete/", {"reason": "again", "confirm": "on"})
    assert again.status_code == 400 and "already scheduled" in again.content.decode()

    response = console.post(
        "/console/tenants/alpha/delete/cancel/", {"reason": "they renewed", "confirm": "on"}
    )
    assert response.status_code == 302
    deletion.refresh_from_db()
    assert deletion.state == OrganizationDeletion.State.CANCELLED
    org_a.organization.refresh_from_db()
    assert org_a.organization.is_active
    actions = set(
        AuditEntry.objects.filter(org_id=org_a.organization.org_id).values_list("action", flat=True)
    )
    assert {"organization.deletion_requested", "organization.deletion_cancelled"} <= actions


def test_tenant_page_shows_the_plan_its_limits_and_usage(console, org_a, org_b):
    """Billing's figures for this organization only: its plan, its counted messages."""
    from billing_stub.quota import quota_use
    from tests.billing.conftest import plan_with, put_on

    put_on(org_a, plan_with("console-plan", outbound_messages_per_month=500))
    quota_use(organization_id=org_a.organization.pk, limit="outbound_messages_per_month", amount=7)
    body = console.get("/console/tenants/alpha/").content.decode()
    assert "Console-Plan" in body
    plan_card = body[body.index('id="plan-and-usage"') :]
    assert "500" in plan_card and ">7<" in plan_card
    other = console.get("/console/tenants/beta/").content.decode()
    assert "Console-Plan" not in other


def test_list_filters_by_plan_and_shows_each_plan(console, org_a, org_b):
    from tests.billing.conftest import plan_with, put_on

    put_on(org_a, plan_with("bigger", outbound_messages_per_month=250000))
    body = console.get("/console/tenants/", {"plan": "bigger"}).content.decode()
    assert "/console/tenants/alpha/" in body and "/console/tenants/beta/" not in body
    assert "Bigger" in body and "250000 messages a month" in body
    body = console.get("/console/tenants/").content.decode()
    assert "/console/tenants/beta/" in body and "Free" in body


def test_staff_move_an_organization_to_another_plan_with_a_reason(console, org_a, org_b):
    from billing_stub.selectors import subscription_of

    assert console.get("/console/tenants/alpha/plan/").status_code == 200
    response = console.post("/console/tenants/alpha/plan/", {"plan": "pro", "reason": "upsell"})
    assert response.status_code == 400  # no confirmation: nothing changes
    assert subscription_of(organization=org_a.organization).plan.code != "pro"
    response = console.post(
        "/console/tenants/alpha/plan/", {"plan": "pro", "reason": "upsell", "confirm": "on"}
    )
    assert response.status_code == 302
    assert subscription_of(organization=org_a.organization).plan.code == "pro"
    assert subscription_of(organization=org_b.organization).plan.code != "pro"
    entry = AuditEntry.objects.get(org_id=org_a.organization.org_id, action="billing.plan_changed")
    assert entry.reason == "upsell" and entry.details["proration"] == "none"
