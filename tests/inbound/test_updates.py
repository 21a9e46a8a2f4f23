"""Unit tests of whatsapp.graph.updates (no database): Meta's `messages` change parsed into
frozen types, driven by tests/fixtures/meta/*.json and by the hostile-value generator."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.inbound.conftest import MESSAGE_FIXTURES, STATUS_FIXTURES, first_value, load
from tests.inbound.hostile import good_message, hostile_change, hostile_value
from whatsapp.graph.facts import BSUID_RE, MEDIA_TYPES, timestamp_parse
from whatsapp.graph.updates import MessagesUpdate, messages_update_parse

TS = datetime(2025, 6, 25, 13, 16, 24, tzinfo=UTC)


def parse(name: str) -> MessagesUpdate:
    return messages_update_parse(first_value(load(name)))


@pytest.mark.parametrize("name", MESSAGE_FIXTURES + STATUS_FIXTURES)
def test_every_fixture_parses_without_setting_anything_aside(name):
    update = parse(name)
    assert update.unparseable == ()
    assert len(update.messages) + len(update.statuses) == 1
    assert update.metadata.phone_number_id == "106540352242922"


def test_text_with_sender_profile():
    update = parse("message_text")
    (message,) = update.messages
    assert (message.type, message.from_wa_id, message.timestamp) == ("text", "5511999990000", TS)
    assert message.text == "Olá, quero saber do pedido 123"
    assert update.profile_for(message).name == "Ana Souza"


def test_media_types_are_typed():
    for name, kind in [("message_image", "image"), ("message_document", "document")]:
        (message,) = parse(name).messages
        assert message.type == kind and message.media is not None
        assert message.media.id and message.media.mime_type and message.media.sha256
    (document,) = parse("message_document").messages
    assert document.media.filename


def test_edit_carries_the_original_id_and_the_new_content():
    (message,) = parse("message_edit").messages
    assert message.edit.original_message_id == "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYINTEXT0001"
    assert message.edit.message.type == "text"
    assert message.text == "Olá, quero saber do pedido 124"
    assert message.refers_to == message.edit.original_message_id


def test_revoke_and_reaction_refer_to_their_target():
    (revoke,) = parse("message_revoke").messages
    assert (
        revoke.revoke.original_message_id and revoke.refers_to == revoke.revoke.original_message_id
    )
    (reaction,) = parse("message_reaction").messages
    assert reaction.reaction.emoji and reaction.refers_to == reaction.reaction.message_id


def test_flow_reply_response_json_is_parsed():
    (message,) = parse("message_interactive_nfm_reply").messages
    raw = first_value(load("message_interactive_nfm_reply"))["messages"][0]
    expected = json.loads(raw["interactive"]["nfm_reply"]["response_json"])
    assert message.interactive.kind == "nfm_reply"
    assert message.interactive.response == expected
    assert message.content["response"] == expected


def test_user_changed_number_names_the_new_ids():
    (message,) = parse("message_system_user_changed_number").messages
    raw = first_value(load("message_system_user_changed_number"))["messages"][0]["system"]
    assert message.system.kind == "user_changed_number"
    assert message.system.wa_id == raw["wa_id"]


def test_status_fields():
    (status,) = parse("status_failed").statuses
    assert status.status == "failed" and status.errors and status.errors[0]["code"]
    (sent,) = parse("status_sent").statuses
    assert sent.timestamp is not None and sent.recipient_id


def test_bad_items_are_set_aside_with_their_error_and_siblings_parse():
    value = first_value(load("message_text"))
    good = value["messages"][0]
    value["messages"] = ["nope", None, good, {"id": ["list"], "type": {"x": 1}}]
    value["statuses"] = {"not": "a list"}
    value["contacts"] = [{"profile": 5}, 7]
    update = messages_update_parse(value)
    assert [m.wamid for m in update.messages] == [good["id"], ""]
    assert update.messages[1].type == "unknown"
    where = {u.where: u.error for u in update.unparseable}
    assert where["messages[0]"] == "not an object" and "messages[1]" in where
    assert where["statuses"] == "not a list"
    assert {"contacts[0]", "contacts[1]"} <= set(where)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1750857384", TS),
        (1750857384, TS),
        ("1750857384.9", TS),
        ("0", None),
        ("-5", None),
        ("99999999999999999999", None),
        (2**64, None),
        ("NaN", None),
        (float("inf"), None),
        ("1e400", None),
        (True, None),
        ([1], None),
        (None, None),
        ("", None),
    ],
)
def test_one_timestamp_parser(raw, expected):
    assert timestamp_parse(raw) == expected


def test_shared_facts():
    assert MEDIA_TYPES == ("image", "video", "audio", "document", "sticker")
    assert BSUID_RE.match("US.13491208655302741918")
    assert BSUID_RE.match("US.ENT.11815799212886844830")
    assert not BSUID_RE.match("5511999990000")


def _strings(value: Any) -> list[str]:
    """Every string (and dict key) reachable from a parsed value."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _numbers(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if dataclasses.is_dataclass(value):
        return [n for f in dataclasses.fields(value) for n in _numbers(getattr(value, f.name))]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


def test_hostile_values_never_raise_and_everything_parsed_is_storable():
    rng = random.Random(20261129)
    for round_ in range(120):
        good = [good_message("unit", round_)]
        value = (
            hostile_change(rng, good=good, phone_number_id="1")
            if round_ % 3
            else hostile_value(rng)
        )
        update = messages_update_parse(value)
        strings = _strings(update.messages) + _strings(update.statuses) + _strings(update.contacts)
        assert not [s for s in strings if "\x00" in s or any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
        assert all(n == n and abs(n) != float("inf") for n in _numbers(update.messages))
        if round_ % 3:
            assert good[0]["id"] in [m.wamid for m in update.messages]
        # Everything it kept serializes as strict JSON (what a jsonb column takes).
        json.dumps([m.raw for m in update.messages], allow_nan=False)
        json.dumps([m.content for m in update.messages], allow_nan=False)


def test_parser_and_sandbox_import_no_django():
    """whatsapp.graph.updates/facts stay plain Python, and the sandbox, which now shares the
    facts, still imports no Django (fresh interpreter)."""
    import subprocess
    import sys

    check = (
        "import sys, whatsapp.graph.updates, whatsapp.graph.facts, whatsapp.sandbox;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', "
        "'django_tenants', 'tenants'});"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
