"""The inbox pages through Django's test client: every message type renders, the list runs a
bounded number of queries, the live endpoints answer 204 until something changes, actions
(assign, notes, reply) work, and nothing of another organization is reachable by id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import in_tenant
from tests.factories import ContactFactory, IncomingMessageFactory, OutgoingMessageFactory
from tests.inbox.conftest import meta_value
from whatsapp.models import Conversation, ConversationNote, WhatsAppMessage
from whatsapp.services.inbound import inbound_change_apply

pytestmark = pytest.mark.django_db

NUMBER = "106540352242922"
EVERY_TYPE = (
    "message_text",
    "message_image",
    "message_sticker",
    "message_audio_voice",
    "message_video",
    "message_document",
    "message_location",
    "message_contacts",
    "message_reaction",
    "message_reply_context",
    "message_edit",
    "message_revoke",
    "message_interactive_button_reply",
    "message_interactive_list_reply",
    "message_interactive_nfm_reply",
    "message_button",
)


def _store(names) -> None:
    for name in names:
        inbound_change_apply(value=meta_value(name), phone_number_id=NUMBER)


def test_every_message_type_renders_in_the_conversation(org_a, member_client):
    with in_tenant(org_a):
        _store(EVERY_TYPE[:1])
        conversation = Conversation.objects.get(contact__wa_id="5511999990000")
        OutgoingMessageFactory(  # the message the customer's reply quotes
            contact=conversation.contact,
            phone_number_id=NUMBER,
            wamid="wamid.OUTGOING-TEXT-1",
            status="read",
            text="Your order shipped",
        )
        _store(EVERY_TYPE[1:])
    page = member_client(org_a).get(f"/inbox/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for needle in (
        'data-type="text"',
        'data-type="image"',
        'data-type="sticker"',
        'data-type="audio"',
        'data-type="video"',
        'data-type="document"',
        'data-type="location"',
        'data-type="contacts"',
        'data-type="interactive"',
        'data-type="button"',
        "Flow reply",
        'class="quoted"',
        "Your order shipped",  # the quoted original
        "This message was deleted.",  # the revoked text
        'class="reactions"',  # the reaction, on its message
        'class="ticks read"',
    ):
        assert needle in html, needle
    # Edits and revokes change their original instead of showing as messages of their own.
    assert 'data-type="edit"' not in html
    assert 'data-type="revoke"' not in html


def test_the_list_runs_the_same_queries_for_1_or_20_conversations(org_a, member_client):
    client = member_client(org_a)
    with in_tenant(org_a):
        IncomingMessageFactory(phone_number_id=NUMBER)
    client.get("/inbox/")  # warm the per-process caches (host, session)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/inbox/").status_code == 200
    with in_tenant(org_a):
        for _ in range(19):
            contact = IncomingMessageFactory(phone_number_id=NUMBER).contact
            OutgoingMessageFactory(contact=contact, phone_number_id=NUMBER)
    with CaptureQueriesContext(connection) as twenty:
        page = client.get("/inbox/")
    assert page.content.decode().count("data-conversation=") == 20
    assert len(twenty) == len(one)


def test_list_shows_unread_window_and_assignee_and_searches(org_a, member_client):
    client = member_client(org_a)
    with in_tenant(org_a):
        fresh = ContactFactory(name="Fresh Customer")
        IncomingMessageFactory(contact=fresh, phone_number_id=NUMBER, text="need help with order")
        old = ContactFactory(name="Old Customer")
        IncomingMessageFactory(
            contact=old, phone_number_id=NUMBER, timestamp=timezone.now() - timedelta(days=2)
        )
    html = client.get("/inbox/").content.decode()
    assert "Fresh Customer" in html and "Old Customer" in html
    assert "window closed" in html and "left</span>" in html
    assert 'aria-label="1 unread"' in html
    found = client.get("/inbox/?q=order").content.decode()
    assert "Fresh Customer" in found and "Old Customer" not in found


def test_changes_endpoints_answer_204_until_something_changes(org_a, member_client):
    client = member_client(org_a)
    with in_tenant(org_a):
        message = IncomingMessageFactory(phone_number_id=NUMBER)
        conversation = Conversation.objects.get(contact=message.contact)
    page = client.get("/inbox/")
    stamp = page.context["stamp"]
    assert client.get("/inbox/changes/", {"stamp": stamp}).status_code == 204
    detail = client.get(f"/inbox/{conversation.pk}/")
    thread_stamp = detail.context["stamp"]
    url = f"/inbox/{conversation.pk}/changes/"
    assert client.get(url, {"stamp": thread_stamp, "open": "1"}).status_code == 204
    with in_tenant(org_a):  # a receipt changes a shown message: the thread updates
        reply = OutgoingMessageFactory(contact=message.contact, phone_number_id=NUMBER)
    changed = client.get(url, {"stamp": thread_stamp, "open": "1"})
    assert changed.status_code == 200 and f'id="m{reply.pk}"' in changed.content.decode()
    assert 'id="composer"' not in changed.content.decode()  # window unchanged: typing kept
    stamp2 = changed.context["stamp"]
    with in_tenant(org_a):
        WhatsAppMessage.objects.filter(pk=reply.pk).update(status="read", updated_at=timezone.now())
    assert client.get(url, {"stamp": stamp2, "open": "1"}).status_code == 200
    fresh = client.get("/inbox/changes/", {"stamp": stamp})
    assert fresh.status_code == 200 and "conversation-list" in fresh.content.decode()


def test_assign_note_and_reply(org_a, member_client, make_user):
    client = member_client(org_a)
    agent = make_user("agent@alpha.test", org=org_a)
    with in_tenant(org_a):
        message = IncomingMessageFactory(phone_number_id=NUMBER)
        conversation = Conversation.objects.get(contact=message.contact)
    base = f"/inbox/{conversation.pk}"
    assert client.post(f"{base}/assign/", {"user": agent.pk}).status_code == 302
    assert client.post(f"{base}/notes/", {"text": "VIP, call back"}).status_code == 302
    with in_tenant(org_a):
        conversation.refresh_from_db()
        assert conversation.assignee_user_id == agent.pk
        assert ConversationNote.objects.get().text == "VIP, call back"
    html = client.get("/inbox/").content.decode()
    assert "agent@alpha.test" in html


def test_a_user_of_another_org_cannot_be_assigned(org_a, org_b, member_client, make_user):
    stranger = make_user("stranger@beta.test", org=org_b)
    with in_tenant(org_a):
        conversation = Conversation.objects.get(
            contact=IncomingMessageFactory(phone_number_id=NUMBER).contact
        )
    member_client(org_a).post(f"/inbox/{conversation.pk}/assign/", {"user": stranger.pk})
    with in_tenant(org_a):
        conversation.refresh_from_db()
        assert conversation.assignee_user_id is None


def test_another_org_cannot_reach_a_conversation_or_contact_by_id(org_a, org_b, member_client):
    with in_tenant(org_a):
        for _ in range(3):  # ids beyond any org B has
            message = IncomingMessageFactory(phone_number_id=NUMBER)
        conversation = Conversation.objects.get(contact=message.contact)
    client_b = member_client(org_b)
    for path in (
        f"/inbox/{conversation.pk}/",
        f"/inbox/{conversation.pk}/changes/",
        f"/contacts/{message.contact_id}/",
    ):
        assert client_b.get(path).status_code == 404, path
    assert client_b.post(f"/inbox/{conversation.pk}/notes/", {"text": "x"}).status_code == 404
    with in_tenant(org_a):
        assert not ConversationNote.objects.exists()


def test_signed_out_people_are_sent_to_sign_in(org_a, tenant_client):
    response = tenant_client(org_a).get("/inbox/")
    assert response.status_code == 302 and "/login/" in response["Location"]
