"""Parsing and applying `messages` changes inside a tenant, driven by tests/fixtures/meta/*.json.

Calls the service directly in org_a's schema with the `db` fixture (rolled back; on_commit
callbacks such as media downloads are not run). The same fixtures go through HTTP and the
worker in test_pipeline_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import in_tenant
from tests.inbound.conftest import MESSAGE_FIXTURES, first_value, load
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.inbound import contact_upsert, inbound_change_apply, parse_timestamp

PNID = "106540352242922"
TS = datetime(2025, 6, 25, 13, 16, 24, tzinfo=UTC)  # "1750857384"


def apply(name: str):
    return inbound_change_apply(value=first_value(load(name)), phone_number_id=PNID)


def only_message() -> WhatsAppMessage:
    return WhatsAppMessage.objects.select_related("contact").get()


# (fixture, type, text, content checks, context_wamid)
EXPECTED = {
    "message_text": (
        "text",
        "Olá, quero saber do pedido 123",
        {"body": "Olá, quero saber do pedido 123"},
        "",
    ),
    "message_image": (
        "image",
        "foto do produto",
        {"id": "1479537139650973", "mime_type": "image/jpeg"},
        "",
    ),
    "message_video": ("video", "video", {"id": "1479537139650974"}, ""),
    "message_audio_voice": (
        "audio",
        "",
        {"voice": True, "mime_type": "audio/ogg; codecs=opus"},
        "",
    ),
    "message_document": ("document", "nota fiscal", {"filename": "../../etc/passwd.pdf"}, ""),
    "message_sticker": ("sticker", "", {"animated": False, "mime_type": "image/webp"}, ""),
    "message_location": (
        "location",
        "Av. Paulista",
        {"latitude": -23.5613, "longitude": -46.6565},
        "",
    ),
    "message_contacts": ("contacts", "João Silva", {}, ""),
    "message_interactive_button_reply": (
        "interactive",
        "Confirmar",
        {"type": "button_reply"},
        "wamid.OUTGOING-BUTTONS-1",
    ),
    "message_interactive_list_reply": (
        "interactive",
        "Médio",
        {"list_reply": {"id": "size-m", "title": "Médio", "description": "Tamanho M"}},
        "wamid.OUTGOING-LIST-1",
    ),
    "message_interactive_nfm_reply": (
        "interactive",
        "Sent",
        {"response": {"flow_token": "tok-42", "rating": "5"}},
        "wamid.OUTGOING-FLOW-1",
    ),
    "message_button": (
        "button",
        "Parar promoções",
        {"payload": "STOP_PROMOS"},
        "wamid.OUTGOING-TEMPLATE-1",
    ),
    "message_reaction": (
        "reaction",
        "👍",
        {"message_id": "wamid.OUTGOING-TEXT-1"},
        "wamid.OUTGOING-TEXT-1",
    ),
    "message_reaction_removed": (
        "reaction",
        "",
        {"message_id": "wamid.OUTGOING-TEXT-1"},
        "wamid.OUTGOING-TEXT-1",
    ),
    "message_order": ("order", "pedido de teste", {"catalog_id": "987654321"}, ""),
    "message_system_user_changed_number": (
        "system",
        "Ana changed from 5511999990000 to 5511977776666",
        {"type": "user_changed_number"},
        "",
    ),
    "message_system_identity_changed": (
        "system",
        "Ana's security code changed",
        {
            "type": "customer_identity_changed",
            "identity": {
                "acknowledged": True,
                "created_timestamp": 1750857000,
                "hash": "Sjvjlx8G6Z0=",
            },
        },
        "",
    ),
    "message_referral": ("text", "Vi o anúncio", {"referral": {"source_type": "ad"}}, ""),
    "message_reply_context": (
        "text",
        "sim, esse",
        {"context": {"from": "15550783881", "id": "wamid.OUTGOING-TEXT-1"}},
        "wamid.OUTGOING-TEXT-1",
    ),
    "message_forwarded": (
        "text",
        "olha isso",
        {"context": {"forwarded": True, "frequently_forwarded": True}},
        "",
    ),
    "message_edit": (
        "edit",
        "Olá, quero saber do pedido 124",
        {},
        "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYINTEXT0001",
    ),
    "message_revoke": ("revoke", "", {}, "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYINTEXT0001"),
    "message_unsupported": ("unsupported", "", {"errors": [{"code": 131051}]}, ""),
    "message_unknown_future": ("hologram", "", {"shape": "cube", "depth": 3}, ""),
    "message_bsuid_username": ("text", "sou um usuário com username", {}, ""),
}


def _subset(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=False)
        )
    return expected == actual


def test_every_message_fixture_has_an_expectation():
    assert set(MESSAGE_FIXTURES) == set(EXPECTED)


@pytest.mark.parametrize("name", MESSAGE_FIXTURES)
def test_each_inbound_type_is_stored_with_its_typed_fields_and_raw_json(name, org_a, db):
    kind, text, content, context = EXPECTED[name]
    raw = first_value(load(name))["messages"][0]
    with in_tenant(org_a):
        result = apply(name)
        assert result.messages_created == 1, result.notes
        message = only_message()
        assert message.wamid == raw["id"]
        assert message.direction == WhatsAppMessage.Direction.INCOMING
        assert message.status == WhatsAppMessage.Status.RECEIVED
        assert message.type == kind
        assert message.text == text
        assert _subset(content, message.content), message.content
        assert message.context_wamid == context
        assert message.raw == raw
        assert message.timestamp == TS
        assert message.phone_number_id == PNID


@pytest.mark.parametrize(
    "name",
    [
        "message_image",
        "message_video",
        "message_audio_voice",
        "message_document",
        "message_sticker",
    ],
)
def test_media_messages_get_a_pending_media_row(name, org_a, db):
    payload = first_value(load(name))["messages"][0]
    media = payload[payload["type"]]
    with in_tenant(org_a):
        apply(name)
        row = WhatsAppMedia.objects.select_related("message").get()
        assert row.message.wamid == payload["id"]
        assert row.media_id == media["id"]
        assert row.mime_type == media["mime_type"]
        assert row.sha256 == media["sha256"]
        assert row.state == WhatsAppMedia.State.PENDING
        assert row.original_filename == media.get("filename", "")
        assert not row.file


def test_contact_is_created_with_profile_and_seen_times(org_a, db):
    with in_tenant(org_a):
        apply("message_text")
        contact = Contact.objects.get()
        assert contact.wa_id == "5511999990000"
        assert contact.user_id is None
        assert contact.name == "Ana Souza"
        assert contact.first_seen == contact.last_seen == contact.last_inbound_at == TS


def test_contact_seen_times_only_widen(org_a, db):
    with in_tenant(org_a):
        early = datetime(2025, 1, 1, tzinfo=UTC)
        late = datetime(2025, 12, 1, tzinfo=UTC)
        contact_upsert(wa_id="551100", user_id=None, name="A", seen_at=late)
        contact_upsert(wa_id="551100", user_id=None, name="", seen_at=early)
        contact = Contact.objects.get()
        assert contact.first_seen == early
        assert contact.last_seen == late
        assert contact.last_inbound_at == late
        assert contact.name == "A"


def test_bsuid_user_without_phone_is_keyed_on_user_id(org_a, db):
    with in_tenant(org_a):
        apply("message_bsuid_username")
        contact = only_message().contact
        assert contact.user_id == "BR.1502779238475628"
        assert contact.wa_id is None
        assert contact.username == "@bia.ok"
        assert contact.parent_user_id == "BR.ENT.88213"
        assert contact.name == "Bia"


def test_phone_contact_gains_its_bsuid_instead_of_a_second_contact(org_a, db):
    with in_tenant(org_a):
        contact_upsert(wa_id="5511999990000", user_id=None, name="Ana", seen_at=TS)
        contact_upsert(wa_id="5511999990000", user_id="BR.77", name="Ana", seen_at=TS)
        contact = Contact.objects.get()
        assert (contact.wa_id, contact.user_id) == ("5511999990000", "BR.77")
        # Later messages carry only the BSUID (the number is hidden): still the same contact.
        contact_upsert(wa_id=None, user_id="BR.77", name="Ana S", seen_at=TS)
        assert Contact.objects.get().name == "Ana S"


def test_number_taken_over_by_another_bsuid_moves_to_the_new_identity(org_a, db):
    with in_tenant(org_a):
        old = contact_upsert(wa_id="5511999990000", user_id="BR.OLD", seen_at=TS)
        new = contact_upsert(wa_id="5511999990000", user_id="BR.NEW", seen_at=TS)
        assert old.pk != new.pk
        old.refresh_from_db()
        new.refresh_from_db()
        assert old.wa_id is None and old.user_id == "BR.OLD"
        assert new.wa_id == "5511999990000"


def test_user_changed_number_moves_the_contact_to_the_new_number(org_a, db):
    with in_tenant(org_a):
        apply("message_text")
        apply("message_system_user_changed_number")
        assert Contact.objects.count() == 1
        contact = Contact.objects.get()
        assert contact.wa_id == "5511977776666"
        assert contact.messages.count() == 2


def test_same_wamid_twice_is_stored_once(org_a, db):
    with in_tenant(org_a):
        assert apply("message_text").messages_created == 1
        again = apply("message_text")
        assert again.messages_created == 0
        assert again.messages_duplicate == 1
        assert WhatsAppMessage.objects.count() == 1
        assert Contact.objects.count() == 1


def test_batch_with_bad_items_keeps_the_good_ones(org_a, db):
    value = first_value(load("message_text"))
    good = value["messages"][0]
    value["messages"] = [
        "not an object",
        {"id": "wamid.NOSENDER", "type": "text", "text": {"body": "?"}},
        {**good, "timestamp": "not-a-number", "id": "wamid.BADTS"},
        {**good, "type": None, "id": "wamid.NOTYPE"},
        good,
    ]
    value["contacts"] = [value["contacts"][0], {"profile": {"name": "X"}, "wa_id": "551155"}]
    with in_tenant(org_a):
        result = inbound_change_apply(value=value, phone_number_id=PNID)
        assert result.messages_created == 3
        assert len(result.notes) == 2
        assert set(WhatsAppMessage.objects.values_list("wamid", flat=True)) == {
            good["id"],
            "wamid.BADTS",
            "wamid.NOTYPE",
        }
        assert WhatsAppMessage.objects.get(wamid="wamid.NOTYPE").type == "unknown"


def test_message_without_id_still_dedupes(org_a, db):
    value = first_value(load("message_text"))
    del value["messages"][0]["id"]
    with in_tenant(org_a):
        inbound_change_apply(value=value, phone_number_id=PNID)
        inbound_change_apply(value=value, phone_number_id=PNID)
        assert WhatsAppMessage.objects.get().wamid.startswith("noid.")


def test_value_errors_are_reported_not_raised(org_a, db):
    with in_tenant(org_a):
        result = apply("value_errors")
        assert result.messages_created == 0
        assert "131000" in result.notes[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1750857384", TS), (1750857384, TS), ("x", None), (None, None), ("-5", None), ("1e30", None)],
)
def test_parse_timestamp(raw, expected):
    assert parse_timestamp(raw) == expected


def test_tenant_b_does_not_see_what_a_received(org_a, org_b, db):
    with in_tenant(org_a):
        apply("message_text")
        assert WhatsAppMessage.objects.count() == 1
    with in_tenant(org_b):
        assert WhatsAppMessage.objects.count() == 0
        assert Contact.objects.count() == 0
