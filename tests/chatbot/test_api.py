"""The chatbot API on an organization's host: rules CRUD and ordering (patterns and replies
validated on save), settings (secret write-only, admin-only writes), the simulator, and
isolation between organizations. Rolled-back transactions; no workers needed."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.models import Organization
from tenants.services.schedule import Interval, schedule_set
from tests.clients import admin_client, api_client, obtain_tokens
from tests.conftest import in_tenant
from tests.factories import ContactFactory
from tests.outbound.conftest import connect
from whatsapp.chatbot.models import ChatbotConversation, ChatbotRule

RULES = "/api/v1/chatbot/rules/"


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def make_rule(client, **fields):
    body = {"name": "r", "match_kind": "exact", "pattern": "hi", "reply_kind": "text"}
    body |= {"reply": {"body": "Hello"}} | fields
    response = post(client, RULES, body)
    assert response.status_code == 201, response.content
    return response.json()


def test_rules_crud_and_reorder(db, org_a):
    client = admin_client(org_a)
    first = make_rule(client, name="first", priority=10)
    second = make_rule(client, name="second", priority=20, match_kind="regex", pattern=r"^\d+$")
    assert [r["name"] for r in client.get(RULES).json()] == ["first", "second"]
    response = post(client, RULES + "reorder/", {"ids": [second["id"], first["id"]]})
    assert [r["name"] for r in response.json()] == ["second", "first"]
    template = {"name": "back_soon", "language": "en_US"}
    changed = client.patch(
        f"{RULES}{first['id']}/",
        {"pattern": "hello", "window_template": template},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["pattern"], changed.json()["window_template"]) == ("hello", template)
    assert client.delete(f"{RULES}{second['id']}/").status_code == 204
    assert [r["name"] for r in client.get(RULES).json()] == ["first"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"match_kind": "regex", "pattern": r"(a)\1"}, "pattern"),
        ({"match_kind": "regex", "pattern": "x" * 201}, "pattern"),
        ({"match_kind": "regex", "pattern": "(?<=a)b"}, "pattern"),
        ({"reply": {"body": ""}}, "reply"),
        ({"reply_kind": "buttons", "reply": {"body": "Pick", "buttons": []}}, "reply"),
        (
            {
                "reply_kind": "buttons",
                "reply": {"body": "x", "buttons": [{"id": str(n), "title": "t"} for n in range(4)]},
            },
            "reply",
        ),
        ({"reply_kind": "list", "reply": {"body": "x"}}, "reply"),
        ({"window_template": {"name": "back_soon"}}, "window_template"),
        ({"phone_number_id": "999999"}, "phone_number_id"),
        ({"window_template": {"name": "Bad Name", "language": "en"}}, "window_template"),
    ],
)
def test_unusable_rules_are_refused_with_the_field(db, org_a, fields, field):
    body = {"name": "r", "match_kind": "exact", "pattern": "hi", "reply_kind": "text"}
    response = post(admin_client(org_a), RULES, body | {"reply": {"body": "Hi"}} | fields)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_settings_secret_is_write_only_and_writes_need_an_admin(db, org_a, make_user):
    admin = admin_client(org_a)
    response = admin.patch(
        "/api/v1/chatbot/settings/",
        {"external_bot_secret": "s3cret-value", "time_zone": "Europe/Lisbon"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert "s3cret-value" not in response.content.decode()
    assert response.json()["external_bot_secret_set"] is True
    make_user("member@alpha.test", org=org_a, role="member")
    member = api_client(org_a, token=obtain_tokens(org_a, "member@alpha.test")["access"])
    assert member.get("/api/v1/chatbot/settings/").status_code == 200
    refused = member.patch(
        "/api/v1/chatbot/settings/", {"enabled": False}, content_type="application/json"
    )
    assert refused.status_code == 403
    bad = admin.patch(
        "/api/v1/chatbot/settings/",
        {"business_hours": {"mon": [["9", "5pm"]]}},
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_simulate_follows_the_order_without_sending(db, org_a):
    client = admin_client(org_a)
    make_rule(
        client,
        pattern="menu",
        reply_kind="buttons",
        next_step="main",
        reply={"body": "Pick", "buttons": [{"id": "a", "title": "A"}]},
    )
    make_rule(client, match_kind="contains", pattern="person", reply_kind="handoff", reply={})
    with in_tenant(org_a):
        contact = ContactFactory()
        ChatbotConversation.objects.create(contact=contact, phone_number_id="1", step="main")
    said = post(client, "/api/v1/chatbot/simulate/", {"text": "MENU"}).json()
    assert (said["action"], said["step"], said["replies"][0]["type"]) == (
        "rule",
        "main",
        "interactive",
    )
    assert post(client, "/api/v1/chatbot/simulate/", {"text": "a person pls"}).json()["takeover"]
    stop = post(
        client, "/api/v1/chatbot/simulate/", {"text": "stop", "contact_id": contact.pk}
    ).json()
    assert stop["action"] == "opt_out" and stop["opt_out"]
    nothing = post(client, "/api/v1/chatbot/simulate/", {"text": "??"}).json()
    assert nothing["action"] == "none" and nothing["replies"] == []
    with in_tenant(org_a):
        contact.refresh_from_db()
        assert contact.opted_out_at is None  # simulated only
        assert ChatbotConversation.objects.get().step == "main"


def test_a_rule_is_scoped_to_this_organizations_numbers_only(db, org_a, org_b):
    alpha, beta = connect(org_a).phone_number_id, connect(org_b).phone_number_id
    assert make_rule(admin_client(org_a), phone_number_id=alpha)["phone_number_id"] == alpha
    body = {"name": "r", "match_kind": "exact", "pattern": "hi", "reply_kind": "text"}
    body |= {"reply": {"body": "Hi"}, "phone_number_id": beta}
    refused = post(admin_client(org_a), RULES, body)
    assert refused.status_code == 400
    assert "phone_number_id" in refused.json()["error"]["fields"]


def test_another_organization_cannot_see_or_touch_the_rules(db, org_a, org_b):
    rule = make_rule(admin_client(org_a), name="alpha only")
    other = admin_client(org_b)
    assert other.get(RULES).json() == []
    assert other.get(f"{RULES}{rule['id']}/").status_code == 404
    assert other.delete(f"{RULES}{rule['id']}/").status_code == 404
    assert (
        other.patch(
            f"{RULES}{rule['id']}/", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    with in_tenant(org_a):
        assert ChatbotRule.objects.get().name == "alpha only"
    with in_tenant(org_a):
        contact = ContactFactory()
    assert (
        post(
            other, "/api/v1/chatbot/simulate/", {"text": "hi", "contact_id": contact.pk}
        ).status_code
        == 404
    )


def test_the_endpoints_are_in_the_openapi_schema(db, org_a):
    schema = api_client(org_a).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "rules/",
        "rules/{id}/",
        "rules/reorder/",
        "settings/",
        "simulate/",
        "deliveries/",
        "takeover/release/",
    ):
        assert f"/api/v1/chatbot/{path}" in schema["paths"]
    schemas = schema["components"]["schemas"]
    assert "external_bot_secret" not in schemas["ChatbotSettings"]["properties"]  # never returned
    assert "external_bot_secret" in schemas["PatchedChatbotSettingsRequest"]["properties"]


def test_simulate_uses_the_organizations_business_hours_when_the_bot_has_none(db, org_a):
    client = admin_client(org_a)
    client.patch(
        "/api/v1/chatbot/settings/", {"away_text": "Closed now."}, content_type="application/json"
    )
    assert post(client, "/api/v1/chatbot/simulate/", {"text": "hi"}).json()["notices"] == []
    organization = Organization.objects.get(pk=org_a.organization.pk)  # not the session's copy
    not_today = (timezone.now().astimezone(ZoneInfo("Asia/Kolkata")).weekday() + 3) % 7
    with tenant_context(organization):  # open on another day only: closed now
        schedule_set(
            organization=organization,
            time_zone="Asia/Kolkata",
            intervals=[Interval(weekday=not_today, opens_at=time(9, 0), closes_at=time(17, 0))],
        )
    said = post(client, "/api/v1/chatbot/simulate/", {"text": "hi"}).json()
    assert said["notices"] == ["away"]
    assert said["replies"] == [{"type": "text", "content": {"body": "Closed now."}}]
