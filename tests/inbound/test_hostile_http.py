"""Poison isolation end to end: signed POSTs over real HTTP to the platform server, processed by
the session's real worker, into real tenant schemas. Each delivery mixes good messages with
generated hostile siblings (tests/inbound/hostile.py); every good message must be stored exactly
once, in the right tenant, whatever its siblings hold."""

from __future__ import annotations

import random

import httpx
import pytest

from tenants.models import WebhookChange
from tests.conftest import in_tenant, wait_for
from tests.inbound.conftest import FIXTURE_WABA_ID, OTHER_WABA_ID, encode, signed_headers
from tests.inbound.hostile import good_message, hostile_change, router_storable
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.integration

ROUNDS = 24


def envelope(value: dict, waba_id: str) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
    }


@pytest.mark.parametrize(
    "values",
    [
        "handler",
        pytest.param(
            "all",
            marks=pytest.mark.xfail(
                reason="the current router stores each change's value in a jsonb column before "
                "the handler runs, and PostgreSQL refuses NUL, lone surrogates and NaN there; "
                "the webhook gateway (whatsapp/webhooks/) must store values through json_clean",
                strict=False,
            ),
        ),
    ],
)
def test_good_messages_survive_hostile_siblings(
    webhook, numbers, celery_worker, org_a, org_b, values
):
    """`handler`: every hostile value the router can store (huge, deep, wrong types, unknown
    types, overflowing timestamps...) reaches the handler; `all`: also NUL and surrogates."""
    rng = random.Random(9)
    expected = {"alpha": set(), "beta": set()}
    for n in range(ROUNDS):
        slug = "alpha" if n % 2 else "beta"
        good = [good_message(slug, 2 * n), good_message(slug, 2 * n + 1)]
        expected[slug] |= {g["id"] for g in good}
        value = hostile_change(rng, good=good, phone_number_id=numbers[slug])
        if values == "handler":
            value = router_storable(value)
        waba = FIXTURE_WABA_ID if slug == "alpha" else OTHER_WABA_ID
        body = encode(envelope(value, waba))
        response = httpx.post(webhook.url, content=body, headers=signed_headers(body), timeout=30)
        assert response.status_code == 200

    def stored(org) -> list[str]:
        with in_tenant(org):
            return list(
                WhatsAppMessage.objects.filter(wamid__startswith="wamid.GOOD.").values_list(
                    "wamid", flat=True
                )
            )

    def all_good_stored():
        """every good message is stored in its tenant"""
        return set(stored(org_a)) >= expected["alpha"] and set(stored(org_b)) >= expected["beta"]

    wait_for(all_good_stored, timeout=30)
    for org, slug in ((org_a, "alpha"), (org_b, "beta")):
        wamids = stored(org)
        assert sorted(wamids) == sorted(expected[slug])  # exactly once, nothing of the other
    # The hostile siblings really were there, and were set aside with their reason.
    notes = " ".join(WebhookChange.objects.values_list("error", flat=True))
    assert "set aside" in notes
