"""Conversation summary rows: kept by the message table's triggers for every writer, one
upsert per INSERT statement; merges move the counts; another tenant sees none of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import in_tenant
from tests.factories import ContactFactory, IncomingMessageFactory, OutgoingMessageFactory
from whatsapp.models import Conversation, WhatsAppMessage
from whatsapp.services.contacts import contact_merge

pytestmark = pytest.mark.django_db

NUMBER = "100000000000001"


def _conversation(contact) -> Conversation:
    return Conversation.objects.get(contact=contact, phone_number_id=NUMBER)


def test_incoming_and_outgoing_messages_keep_the_summary(org_a):
    now = timezone.now()
    with in_tenant(org_a):
        contact = ContactFactory()
        first = IncomingMessageFactory(contact=contact, phone_number_id=NUMBER, timestamp=now)
        second = IncomingMessageFactory(
            contact=contact, phone_number_id=NUMBER, timestamp=now + timedelta(seconds=5)
        )
        conversation = _conversation(contact)
        assert conversation.last_message_id == second.pk
        assert conversation.unread_count == 2
        assert conversation.last_inbound_at == second.timestamp
        version = conversation.version

        # A late delivery of an older message counts as unread but is not the last message.
        IncomingMessageFactory(
            contact=contact, phone_number_id=NUMBER, timestamp=now - timedelta(minutes=1)
        )
        reply = OutgoingMessageFactory(
            contact=contact, phone_number_id=NUMBER, timestamp=now + timedelta(seconds=9)
        )
        conversation.refresh_from_db()
        assert conversation.last_message_id == reply.pk
        assert conversation.last_activity_at == reply.timestamp
        assert conversation.last_inbound_at == second.timestamp  # ours does not open the window
        assert conversation.unread_count == 3
        assert conversation.version == version + 2
        assert first.pk != conversation.last_message_id
        # One row per contact and number.
        IncomingMessageFactory(contact=contact, phone_number_id="other-number", timestamp=now)
        assert Conversation.objects.filter(contact=contact).count() == 2


def test_edits_and_revokes_are_activity_not_last_message(org_a):
    now = timezone.now()
    with in_tenant(org_a):
        contact = ContactFactory()
        original = IncomingMessageFactory(contact=contact, phone_number_id=NUMBER, timestamp=now)
        IncomingMessageFactory(
            contact=contact,
            phone_number_id=NUMBER,
            type="edit",
            context_wamid=original.wamid,
            timestamp=now + timedelta(seconds=3),
        )
        conversation = _conversation(contact)
        assert conversation.last_message_id == original.pk
        assert conversation.last_activity_at == now + timedelta(seconds=3)
        assert conversation.unread_count == 1


def test_a_bulk_insert_is_summarised_by_one_statement(org_a):
    """Many conversations in one INSERT: one upsert runs inside it (the trigger), no query per
    conversation from Python."""
    now = timezone.now()
    with in_tenant(org_a):
        contacts = ContactFactory.create_batch(5)
        rows = [
            WhatsAppMessage(
                direction="incoming",
                status="received",
                phone_number_id=NUMBER,
                contact=contact,
                type="text",
                text=f"m{i}",
                wamid=f"wamid.bulk-{contact.pk}-{i}",
                timestamp=now + timedelta(seconds=i),
            )
            for contact in contacts
            for i in range(3)
        ]
        with CaptureQueriesContext(connection) as queries:
            WhatsAppMessage.objects.bulk_create(rows)
        assert len(queries) == 1
        summaries = Conversation.objects.filter(contact__in=contacts)
        assert sorted(s.unread_count for s in summaries) == [3] * 5
        assert {s.last_message.text for s in summaries} == {"m2"}


def test_a_merge_moves_the_messages_counts_to_the_survivor(org_a):
    now = timezone.now()
    with in_tenant(org_a):
        survivor, merged = ContactFactory(), ContactFactory(wa_id=None, user_id="US.merge1")
        IncomingMessageFactory(contact=survivor, phone_number_id=NUMBER, timestamp=now)
        later = IncomingMessageFactory(
            contact=merged, phone_number_id=NUMBER, timestamp=now + timedelta(seconds=1)
        )
        contact_merge(survivor_id=survivor.pk, merged_id=merged.pk, reason="test", actor="test")
        conversation = _conversation(survivor)
        assert conversation.unread_count == 2
        assert conversation.last_message_id == later.pk
        assert not Conversation.objects.filter(contact_id=merged.pk).exists()


def test_another_tenant_has_no_summary_of_it(org_a, org_b):
    with in_tenant(org_a):
        contact = ContactFactory()
        IncomingMessageFactory(contact=contact, phone_number_id=NUMBER)
        assert Conversation.objects.filter(contact=contact).exists()
    with in_tenant(org_b):
        assert not Conversation.objects.exists()


def test_the_migration_backfills_existing_messages(org_a):
    """Migration 0009's backfill statement, run over messages whose summaries are missing."""
    import importlib

    backfill = importlib.import_module("whatsapp.migrations.0009_inbox_conversations").BACKFILL
    now = timezone.now()
    with in_tenant(org_a):
        contact = ContactFactory()
        IncomingMessageFactory(contact=contact, phone_number_id=NUMBER, timestamp=now)
        last = OutgoingMessageFactory(
            contact=contact, phone_number_id=NUMBER, timestamp=now + timedelta(seconds=1)
        )
        Conversation.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(backfill)
        conversation = _conversation(contact)
        assert (conversation.last_message_id, conversation.unread_count) == (last.pk, 1)
        assert conversation.last_inbound_at == now
