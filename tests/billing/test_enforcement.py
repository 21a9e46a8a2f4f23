"""Each plan limit refuses at its enforcement point with the one error shape, and nothing of
the refused action is left behind. Rolled-back transactions (`db`); enforcement on (the suite
meters without refusing). No Meta call is made: sends stay `queued` (their task runs on commit).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing_stub.quota import PaymentPastDue, QuotaExceeded, quota_check, quota_headroom, quota_use
from tenants.models import Invitation, PhoneNumber
from tenants.services import team
from tenants.services.routing import phone_number_connect
from tests.clients import admin_client
from tests.conftest import in_tenant
from tests.factories import ContactFactory, PhoneNumberFactory
from tests.outbound.conftest import NUMBER_IDS, customer_wrote
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import messages_bulk_create

from .conftest import counted, plan_with, put_on

pytestmark = pytest.mark.django_db

WA_ID = "5511987654321"


@pytest.fixture
def window_a(org_a):
    """Org A's number, and a customer who wrote to it an hour ago."""
    PhoneNumberFactory(phone_number_id=NUMBER_IDS["alpha"], organization=org_a.organization)
    with in_tenant(org_a):
        contact = ContactFactory(wa_id=WA_ID)
        customer_wrote(contact, phone_number_id=NUMBER_IDS["alpha"])
    return contact


def send(client: Client) -> tuple[int, dict]:
    response = client.post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": "hello"}},
        content_type="application/json",
    )
    return response.status_code, response.json()


def outgoing(org) -> int:
    with in_tenant(org):
        return WhatsAppMessage.objects.filter(direction="outgoing").count()


def test_the_api_refuses_a_send_past_the_monthly_quota_with_402_and_stores_nothing(
    enforced, org_a, window_a
) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=2))
    client = admin_client(org_a)
    assert [send(client)[0] for _ in range(2)] == [202, 202]
    status, body = send(client)
    assert status == 402
    error = body["error"]
    assert (error["code"], error["limit"], error["used"], error["allowed"]) == (
        "quota_exceeded",
        "outbound_messages_per_month",
        2,
        2,
    )
    resets = dt.datetime.fromisoformat(error["resets_at"])
    assert resets > timezone.now() and resets.day == 1
    assert outgoing(org_a) == 2
    assert counted(org_a, "outbound_messages") == 2


def test_the_quota_is_per_organization(enforced, org_a, org_b, window_a) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=0))
    assert send(admin_client(org_a))[0] == 402
    PhoneNumberFactory(phone_number_id=NUMBER_IDS["beta"], organization=org_b.organization)
    with in_tenant(org_b):
        contact = ContactFactory(wa_id=WA_ID)
        customer_wrote(contact, phone_number_id=NUMBER_IDS["beta"])
    assert send(admin_client(org_b))[0] == 202
    assert (outgoing(org_a), outgoing(org_b)) == (0, 1)
    assert quota_headroom(
        organization_id=org_b.organization.pk, limit="outbound_messages_per_month"
    ) == (999)


def test_bulk_create_counts_only_inserted_rows_and_refuses_the_whole_call(
    enforced, org_a, window_a
) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=3))
    rows = [
        {
            "contact_id": window_a.pk,
            "recipient": WA_ID,
            "type": "text",
            "content": {"body": f"n{i}"},
            "phone_number_id": NUMBER_IDS["alpha"],
            "idempotency_key": f"camp-1-{i}",
        }
        for i in range(2)
    ]
    with tenant_context(org_a.organization):
        assert len(messages_bulk_create(messages=rows)) == 2
        assert messages_bulk_create(messages=rows) == []  # a re-run: duplicates, not counted
        more = [{**row, "idempotency_key": f"camp-2-{i}"} for i, row in enumerate(rows)]
        with pytest.raises(QuotaExceeded) as refused:
            messages_bulk_create(messages=more)
    assert (refused.value.used, refused.value.allowed) == (2, 3)
    assert outgoing(org_a) == 2
    assert counted(org_a, "outbound_messages") == 2


def test_a_plan_with_overage_keeps_sending_past_its_quota(enforced, org_a, window_a) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=1, overage_unit_price="0.01"))
    client = admin_client(org_a)
    assert [send(client)[0] for _ in range(3)] == [202, 202, 202]
    assert counted(org_a, "outbound_messages") == 3


def test_past_due_keeps_sending_through_the_grace_period_then_refuses(
    enforced, org_a, window_a, settings
) -> None:
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    put_on(org_a, plan_with(), status="past_due", past_due_since=timezone.now() - dt.timedelta(6))
    client = admin_client(org_a)
    assert send(client)[0] == 202
    put_on(org_a, plan_with(), past_due_since=timezone.now() - dt.timedelta(days=7, seconds=1))
    status, body = send(client)
    assert (status, body["error"]["code"]) == (402, "payment_past_due")
    assert outgoing(org_a) == 1
    org_id = org_a.organization.pk
    assert quota_headroom(organization_id=org_id, limit="outbound_messages_per_month") == 0
    with pytest.raises(PaymentPastDue):
        quota_check(organization_id=org_id, limit="outbound_messages_per_month")


def test_past_due_never_drops_inbound_messages(enforced, org_a) -> None:
    from tests.inbound.conftest import first_value, load
    from whatsapp.services.inbound import inbound_change_apply

    put_on(org_a, plan_with(), status="past_due", past_due_since=timezone.now() - dt.timedelta(99))
    value = first_value(load("message_text"))
    with tenant_context(org_a.organization):
        result = inbound_change_apply(value=value, phone_number_id="106540352242922")
        assert result.messages_created == 1
        assert WhatsAppMessage.objects.filter(direction="incoming").count() == 1
    assert counted(org_a, "inbound_messages") == 1


def test_connecting_a_number_past_the_plan_is_refused_and_reconnecting_is_not(
    enforced, org_a
) -> None:
    put_on(org_a, plan_with(connected_numbers=1))
    first = dict(organization=org_a.organization, waba_id="9001", display_number="15550001")
    phone_number_connect(phone_number_id="700000000000001", **first)
    with pytest.raises(QuotaExceeded) as refused:
        phone_number_connect(phone_number_id="700000000000002", **first)
    assert (refused.value.limit, refused.value.used, refused.value.allowed) == (
        "connected_numbers",
        1,
        1,
    )
    assert refused.value.resets_at is None
    phone_number_connect(phone_number_id="700000000000001", **first)  # an update, allowed
    assert PhoneNumber.objects.filter(organization=org_a.organization).count() == 1


@pytest.mark.integration
def test_manual_connect_past_the_plan_is_explained_and_saves_nothing(
    enforced, org_a, sandbox
) -> None:
    from whatsapp.numbers.errors import NumberConnectError
    from whatsapp.numbers.services.manual import number_connect_manual

    put_on(org_a, plan_with(connected_numbers=0))
    sandbox.register_phone_number(
        "109000000000077", waba_id="209000000000077", display_phone_number="15550007777"
    )
    with in_tenant(org_a), pytest.raises(NumberConnectError) as refused:
        number_connect_manual(
            organization=org_a.organization,
            phone_number_id="109000000000077",
            waba_id="209000000000077",
            access_token=sandbox.issue_token(),
        )
    assert refused.value.field == "phone_number_id"
    assert refused.value.message.startswith("Plan limit reached: connected_numbers (0 of 0")
    assert not PhoneNumber.objects.filter(phone_number_id="109000000000077").exists()


def signed_in(org) -> Client:
    client = Client(HTTP_HOST=org.host)
    client.force_login(get_user_model().objects.get(username=org.admin_email))
    return client


def test_inviting_past_the_plans_seats_is_refused_on_the_settings_page(enforced, org_a) -> None:
    put_on(org_a, plan_with(members=2))  # the admin holds one seat
    client = signed_in(org_a)
    ok = client.post("/settings/invitations/", {"email": "one@alpha.test", "role": "member"})
    assert ok.status_code == 302
    refused = client.post("/settings/invitations/", {"email": "two@alpha.test", "role": "member"})
    assert refused.status_code == 400
    assert "Plan limit reached: members (2 of 2 used)" in refused.content.decode()
    assert list(
        Invitation.objects.filter(organization=org_a.organization).values_list("email", flat=True)
    ) == ["one@alpha.test"]
    with pytest.raises(QuotaExceeded):
        team.invitation_create(
            organization=org_a.organization,
            email="three@alpha.test",
            role="member",
            invited_by=None,
            accept_url="http://x/{token}/",
        )


def test_an_import_past_the_plans_contacts_imports_nothing_and_says_why(enforced, org_a) -> None:
    put_on(org_a, plan_with(contacts=3))
    with in_tenant(org_a):
        ContactFactory(wa_id="5511900000001")
    client = signed_in(org_a)
    csv = (
        b"phone,name\n+5511900000001,Known\n+5511900000002,A\n+5511900000003,B\n+5511900000004,C\n"
    )
    response = client.post(
        "/contacts/import/", {"file": SimpleUploadedFile("c.csv", csv, "text/csv")}
    )
    page = response.content.decode()
    assert "Nothing was imported" in page and "limit of 3 contacts (1 stored now)" in page
    with in_tenant(org_a):
        assert list(Contact.objects.values_list("wa_id", flat=True)) == ["5511900000001"]
    fits = b"phone,name\n+5511900000001,Known\n+5511900000002,A\n+5511900000003,B\n"
    client.post("/contacts/import/", {"file": SimpleUploadedFile("c.csv", fits, "text/csv")})
    with in_tenant(org_a):
        assert Contact.objects.count() == 3


def test_api_requests_past_the_plans_rate_get_429_with_retry_after(
    enforced, org_a, monkeypatch
) -> None:
    import billing_stub.throttles as throttles

    put_on(org_a, plan_with(api_requests_per_minute=3))
    minute = 1_900_000_000 // 60 * 60 + 7 * 60  # a fixed window, 10 s into it
    monkeypatch.setattr(throttles, "_clock", lambda: minute + 10.0)
    throttles._redis().delete(
        f"{throttles.settings.REDIS_KEY_PREFIX}billing:api:{org_a.organization.pk}:{minute // 60}"
    )
    client = admin_client(org_a)  # the token request is one of the organization's requests
    codes = [client.get("/api/v1/contacts/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = client.get("/api/v1/contacts/")
    error = refused.json()["error"]
    assert (error["code"], error["limit"], error["allowed"]) == (
        "quota_exceeded",
        "api_requests_per_minute",
        3,
    )
    assert refused["Retry-After"] == "50"


def test_campaigns_started_are_counted_and_refused_per_month(enforced, org_a) -> None:
    put_on(org_a, plan_with(campaigns_per_month=1))
    org_id = org_a.organization.pk
    assert quota_headroom(organization_id=org_id, limit="campaigns_per_month") == 1
    quota_use(organization_id=org_id, limit="campaigns_per_month")
    assert quota_headroom(organization_id=org_id, limit="campaigns_per_month") == 0
    with pytest.raises(QuotaExceeded):
        quota_use(organization_id=org_id, limit="campaigns_per_month")
    assert counted(org_a, "campaigns_started") == 1


def test_without_enforcement_everything_is_metered_and_nothing_refused(org_a, window_a) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=0))
    assert send(admin_client(org_a))[0] == 202
    assert counted(org_a, "outbound_messages") == 1


def test_the_inbox_reply_box_says_why_a_reply_was_not_sent(enforced, org_a, window_a) -> None:
    from whatsapp.models import Conversation

    put_on(org_a, plan_with(outbound_messages_per_month=0))
    with in_tenant(org_a):
        conversation = Conversation.objects.get(contact=window_a)
    client = signed_in(org_a)
    response = client.post(f"/inbox/{conversation.pk}/reply/", {"text": "hello"}, follow=True)
    page = response.content.decode()
    assert "Not sent: Plan limit reached: outbound_messages_per_month (0 of 0 used)." in page
    assert outgoing(org_a) == 0


def test_a_stopped_send_is_a_quota_refusal_for_callers_that_handle_the_quota(
    enforced, org_a, window_a
) -> None:
    """The chatbot and campaigns catch QuotaExceeded: a past-due refusal must not escape them."""
    put_on(org_a, plan_with(), status="cancelled")
    with tenant_context(org_a.organization), pytest.raises(QuotaExceeded) as refused:
        from whatsapp.services.outbound import message_create

        message_create(to=WA_ID, message_type="text", content={"body": "hi"})
    assert isinstance(refused.value, PaymentPastDue)
    assert str(refused.value) == "Sending is stopped: the subscription is cancelled."
    assert outgoing(org_a) == 0


def test_a_refusal_leaving_a_schema_context_stays_the_refusal(enforced, org_a, window_a) -> None:
    """`contextlib` sets `__traceback__` on an exception leaving a `@contextmanager` block
    (tenant_context): the frozen exception must accept it, not turn into FrozenInstanceError."""
    from whatsapp.services.outbound import message_create

    put_on(org_a, plan_with(outbound_messages_per_month=0))
    with pytest.raises(QuotaExceeded) as refused, tenant_context(org_a.organization):
        message_create(to=WA_ID, message_type="text", content={"body": "hi"})
    assert refused.value.used == 0 and refused.value.__traceback__ is not None
    with pytest.raises(AttributeError):
        refused.value.used = 5  # the fields stay read-only
