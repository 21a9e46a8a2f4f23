"""The send API's input checks: every refusal is a 400/409 in the API's error shape naming the
field, and nothing is stored or enqueued. Runs in rolled-back transactions (`db`); nothing here
reaches Meta, so no sandbox is needed.

Meta pages:
- customer service windows: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tenants.models import PhoneNumber
from tests.clients import admin_client
from tests.conftest import in_tenant
from tests.factories import (
    ContactFactory,
    IncomingMessageFactory,
    OutgoingMessageFactory,
    PhoneNumberFactory,
)
from whatsapp.errors import InvalidRecipientError
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import recipient_normalize

from .conftest import NUMBER_IDS, customer_wrote

pytestmark = pytest.mark.django_db

WA_ID = "5511987654321"


@pytest.fixture
def number_a(org_a) -> PhoneNumber:
    return PhoneNumberFactory(phone_number_id=NUMBER_IDS["alpha"], organization=org_a.organization)


@pytest.fixture
def number_b(org_b) -> PhoneNumber:
    return PhoneNumberFactory(phone_number_id=NUMBER_IDS["beta"], organization=org_b.organization)


@pytest.fixture
def in_window(org_a) -> Contact:
    """The customer wrote to org A's number two hours ago."""
    with in_tenant(org_a):
        contact = ContactFactory(wa_id=WA_ID)
        customer_wrote(contact, phone_number_id=NUMBER_IDS["alpha"], hours_ago=2)
        return contact


def send(client: Client, body: dict) -> tuple[int, dict]:
    response = client.post("/api/v1/messages/send/", body, content_type="application/json")
    return response.status_code, response.json()


def stored(org) -> int:
    """Outgoing messages stored (the window's inbound message is not one)."""
    with in_tenant(org):
        return WhatsAppMessage.objects.filter(direction="outgoing").count()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 11 98765-4321", "5511987654321"),
        ("5511987654321", "5511987654321"),
        ("0044 7911 123456", "447911123456"),
        ("+1 (415) 555-2671", "14155552671"),
        # Meta's test numbers (and the sandbox's customers) are +1 555 numbers.
        ("+15551234567", "15551234567"),
    ],
)
def test_recipient_is_normalised_to_e164_digits(raw, expected) -> None:
    recipient = recipient_normalize(recipient=raw)
    assert (recipient.value, recipient.is_phone) == (expected, True)


def test_bsuid_recipient_is_kept() -> None:
    recipient = recipient_normalize(recipient="US.13491208655302741918")
    assert (recipient.value, recipient.is_phone) == ("US.13491208655302741918", False)


@pytest.mark.parametrize("raw", ["", "hello", "+1555", "12", "+99912345678", "+4479111234567890"])
def test_invalid_recipients_are_refused(raw) -> None:
    with pytest.raises(InvalidRecipientError) as info:
        recipient_normalize(recipient=raw)
    assert info.value.field == "to"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"to": "+1555", "type": "text", "text": {"body": "hi"}}, 400, "invalid_recipient", "to"),
        ({"to": WA_ID, "type": "text", "text": {}}, 400, "invalid_content", "text.body"),
        ({"to": WA_ID, "type": "fax", "text": {"body": "x"}}, 400, "invalid", "type"),
        ({"type": "text", "text": {"body": "x"}}, 400, "invalid", "to"),
        # JSON allows these escapes; PostgreSQL (NUL) and UTF-8 (lone surrogate) do not.
        ({"to": WA_ID, "type": "text", "text": {"body": "nul\x00"}}, 400, "invalid", "text"),
        ({"to": WA_ID, "type": "text", "text": {"body": "\ud800"}}, 400, "invalid", "text"),
        (
            {"to": WA_ID, "type": "image", "image": {"link": "http://insecure.example/a.png"}},
            400,
            "invalid_content",
            "image.link",
        ),
        (
            {"to": WA_ID, "type": "text", "text": {"body": "x", "colour": "red"}},
            400,
            "invalid_content",
            "text.colour",
        ),
        (
            {
                "to": WA_ID,
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Pick"},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": str(i), "title": f"B{i}"}}
                            for i in range(4)
                        ]
                    },
                },
            },
            400,
            "invalid_content",
            "interactive.action.buttons",
        ),
        (
            {"to": WA_ID, "type": "location", "location": {"latitude": 91, "longitude": 0}},
            400,
            "invalid_content",
            "location.latitude",
        ),
        (
            {"to": WA_ID, "type": "template", "template": {"name": "Bad Name", "language": "en"}},
            400,
            "invalid_content",
            "template.name",
        ),
        (
            {"to": WA_ID, "type": "text", "text": {"body": "x"}, "phone_number_id": "999"},
            409,
            "no_sending_number",
            "phone_number_id",
        ),
    ],
)
def test_invalid_input_gets_an_error_naming_the_field(
    org_a, number_a, in_window, body, status, code, field
) -> None:
    got_status, data = send(admin_client(org_a), body)
    assert got_status == status, data
    assert data["error"]["code"] == code
    assert field in data["error"]["fields"]
    assert stored(org_a) == 0


def test_free_form_outside_the_window_is_refused_with_a_template_hint(org_a, number_a) -> None:
    status, data = send(admin_client(org_a), {"to": WA_ID, "type": "text", "text": {"body": "hi"}})
    assert status == 409
    assert data["error"]["code"] == "outside_customer_window"
    assert "template" in data["error"]["message"]
    assert stored(org_a) == 0


def test_the_window_is_per_sending_number(org_a, number_a, in_window) -> None:
    """Writing to one of the org's numbers opens no window on its others
    (Meta: customer service windows)."""
    PhoneNumberFactory(phone_number_id="330000000000003", organization=org_a.organization)
    text = {"to": WA_ID, "type": "text", "text": {"body": "hi"}}
    status, data = send(admin_client(org_a), {**text, "phone_number_id": "330000000000003"})
    assert status == 409
    assert data["error"]["code"] == "outside_customer_window"
    status, data = send(admin_client(org_a), {**text, "phone_number_id": number_a.phone_number_id})
    assert status == 202, data
    assert stored(org_a) == 1


def test_template_outside_the_window_is_accepted_and_queued(
    org_a, number_a, django_capture_on_commit_callbacks
) -> None:
    body = {
        "to": "+" + WA_ID,
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}},
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        status, data = send(admin_client(org_a), body)
    assert status == 202, data
    assert data["status"] == "queued" and data["wamid"] is None
    assert data["to"] == WA_ID and data["phone_number_id"] == NUMBER_IDS["alpha"]
    assert len(callbacks) == 1  # the signal's enqueue, run on commit


def test_org_without_a_number_cannot_send(org_a, in_window) -> None:
    status, data = send(admin_client(org_a), {"to": WA_ID, "type": "text", "text": {"body": "x"}})
    assert status == 409 and data["error"]["code"] == "no_sending_number"


def test_org_cannot_send_from_another_orgs_number(org_a, number_a, number_b, in_window) -> None:
    body = {
        "to": WA_ID,
        "type": "text",
        "text": {"body": "x"},
        "phone_number_id": number_b.phone_number_id,
    }
    status, data = send(admin_client(org_a), body)
    assert status == 409 and data["error"]["fields"] == {
        "phone_number_id": [data["error"]["message"]]
    }
    assert stored(org_a) == 0


def test_upload_with_a_wrong_type_is_refused(org_a, number_a, in_window) -> None:
    upload = SimpleUploadedFile("evil.exe", b"MZ...", content_type="application/x-msdownload")
    response = admin_client(org_a).post(
        "/api/v1/messages/send/", {"to": WA_ID, "type": "image", "file": upload}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"file"}


def test_anonymous_send_is_refused(org_a, number_a) -> None:
    response = Client(HTTP_HOST=org_a.host).post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": "x"}},
        content_type="application/json",
    )
    assert response.status_code == 401


def test_another_orgs_token_is_refused_on_this_host(org_a, org_b, number_a) -> None:
    token = admin_client(org_b).defaults["HTTP_AUTHORIZATION"]
    response = Client(HTTP_HOST=org_a.host, HTTP_AUTHORIZATION=token).post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": "x"}},
        content_type="application/json",
    )
    assert response.status_code == 401


def test_signal_enqueues_only_new_queued_outgoing_messages(
    org_a, in_window, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    with in_tenant(org_a), django_capture_on_commit_callbacks(execute=False) as callbacks:
        common = {"phone_number_id": "1", "contact": in_window, "timestamp": now}
        IncomingMessageFactory(**common)
        OutgoingMessageFactory(status="sent", **common)
        queued = OutgoingMessageFactory(**common)
        queued.text = "edited"
        queued.save()  # an update is not a creation: no second send
    assert len(callbacks) == 1


class TestIdempotencyKey:
    """A client that never got the answer to a send may retry it with the same key."""

    BODY = {"to": WA_ID, "type": "text", "text": {"body": "only once"}}

    def post(self, client: Client, body: dict, key: str):
        return client.post(
            "/api/v1/messages/send/",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    def test_a_retried_send_returns_the_first_message_and_enqueues_nothing_more(
        self, org_a, number_a, in_window, django_capture_on_commit_callbacks
    ) -> None:
        client = admin_client(org_a)
        with django_capture_on_commit_callbacks() as first_callbacks:
            first = self.post(client, self.BODY, "retry-me-1")
        with django_capture_on_commit_callbacks() as second_callbacks:
            second = self.post(client, self.BODY, "retry-me-1")
        assert first.status_code == 202, first.content
        assert second.status_code == 200
        assert second["Idempotent-Replayed"] == "true"
        assert second.json()["id"] == first.json()["id"]
        assert stored(org_a) == 1
        assert len(first_callbacks) == 1  # the send task, once
        assert len(second_callbacks) == 0

    def test_a_key_reused_for_another_message_is_refused(self, org_a, number_a, in_window) -> None:
        client = admin_client(org_a)
        assert self.post(client, self.BODY, "key-2").status_code == 202
        other = {
            **self.BODY,
            "type": "reaction",
            "reaction": {"message_id": "wamid.X", "emoji": "👍"},
        }
        response = self.post(client, other, "key-2")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert stored(org_a) == 1

    def test_keys_belong_to_their_organization(
        self, org_a, org_b, number_a, number_b, in_window
    ) -> None:
        with in_tenant(org_b):
            contact = ContactFactory(wa_id=WA_ID)
            customer_wrote(contact, phone_number_id=number_b.phone_number_id)
        assert self.post(admin_client(org_a), self.BODY, "shared-key").status_code == 202
        assert self.post(admin_client(org_b), self.BODY, "shared-key").status_code == 202
        assert stored(org_a) == 1
        assert stored(org_b) == 1

    @pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
    def test_malformed_keys_are_refused(self, org_a, number_a, in_window, key) -> None:
        response = self.post(admin_client(org_a), self.BODY, key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["error"]["fields"]
        assert stored(org_a) == 0
