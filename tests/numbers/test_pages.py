"""`/numbers/` pages with Django's test client: admins only, CSRF on every action, another
organization's ids answer 404, pages read stored rows (no Graph call on page view)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tenants.models import PhoneNumber
from tests.conftest import in_tenant
from whatsapp.numbers.models import NumberCheckup, NumberOnboarding

pytestmark = pytest.mark.django_db
PAGES = ("/numbers/", "/numbers/connect/", "/numbers/manual/")
ACTIONS = ("/numbers/manual/", "/numbers/connect/", "/numbers/1/check/")


def signed_in(org, email: str | None = None, **kwargs) -> Client:
    client = Client(HTTP_HOST=org.host, **kwargs)
    client.force_login(get_user_model().objects.get(username=email or org.admin_email))
    return client


def test_agents_get_403_and_strangers_the_login_page(org_a, make_user):
    make_user("agent@alpha.test", org=org_a, role="member")
    agent = signed_in(org_a, "agent@alpha.test")
    stranger = Client(HTTP_HOST=org_a.host)
    for path in PAGES:
        assert agent.get(path).status_code == 403, path
        assert stranger.get(path).status_code == 302, path
    for path in ACTIONS:
        assert agent.post(path).status_code == 403, path


def test_actions_need_the_csrf_token(org_a):
    client = signed_in(org_a, enforce_csrf_checks=True)
    for path in ACTIONS:
        assert client.post(path).status_code == 403, path


def test_page_shows_stored_checkups_without_calling_graph(org_a, settings):
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9"  # nothing listens: a call would fail
    PhoneNumber.objects.create(
        organization=org_a.organization,
        phone_number_id="109000000000055",
        waba_id="209000000000055",
        display_number="15550005555",
    )
    with in_tenant(org_a):
        NumberCheckup.objects.create(
            phone_number_id="109000000000055",
            findings=[
                {
                    "key": "quality",
                    "label": "Quality rating",
                    "value": "RED",
                    "level": "bad",
                    "advice": "Pause marketing sends.",
                }
            ],
            problems=1,
            checked_at=timezone.now(),
        )
    page = signed_in(org_a).get("/numbers/").content.decode()
    assert "+15550005555" in page and "Pause marketing sends." in page
    assert "1 thing to look at" in page


def test_numbers_stored_with_or_without_a_plus_are_shown_with_one(org_a):
    """Meta's Graph API gives `display_phone_number` with a "+", its webhooks without one; the
    CLI and the demo seed store what they are given: the page shows one "+" either way."""
    for phone_number_id, display in (
        ("109000000000077", "+15550007777"),
        ("109000000000078", "15550007778"),
    ):
        PhoneNumber.objects.create(
            organization=org_a.organization,
            phone_number_id=phone_number_id,
            waba_id="209000000000077",
            display_number=display,
        )
    page = signed_in(org_a).get("/numbers/").content.decode()
    assert "+15550007777" in page and "+15550007778" in page
    assert "++" not in page
    dashboard = signed_in(org_a).get("/").content.decode()
    assert "<strong>+15550007777</strong>" in dashboard
    assert "<strong>+15550007778</strong>" in dashboard


def test_connect_page_in_sandbox_mode_points_at_the_sandbox_popup(org_a, settings):
    settings.WHATSAPP_SANDBOX_MODE = True
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:8090"
    response = signed_in(org_a).get("/numbers/connect/")
    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    body = response.content.decode()
    assert "http://127.0.0.1:8090/_sandbox/signup" in body
    assert "connect.facebook.net" not in body  # only signup.js would load Meta's SDK


def test_other_organizations_runs_and_numbers_are_404(org_a, org_b):
    with in_tenant(org_a):
        run = NumberOnboarding.objects.create(waba_id="1", phone_number_id="2")
    PhoneNumber.objects.create(
        organization=org_a.organization,
        phone_number_id="109000000000066",
        waba_id="209000000000066",
        display_number="15550006666",
    )
    other = signed_in(org_b)
    assert other.get(f"/numbers/onboarding/{run.pk}/").status_code == 404
    assert other.post(f"/numbers/onboarding/{run.pk}/resume/").status_code == 404
    assert other.post("/numbers/109000000000066/check/").status_code == 404
    assert "15550006666" not in other.get("/numbers/").content.decode()
    assert signed_in(org_a).get(f"/numbers/onboarding/{run.pk}/").status_code == 200
