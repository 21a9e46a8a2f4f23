"""The send answer's `contacts[0].wa_id` is the WhatsApp user Meta means, not the typed digits:
unit table of the sandbox's forms (no HTTP), then sends over real HTTP to the sandbox."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import PNID
from whatsapp.sandbox.wa_ids import forms_of, resolve

FORMS = [
    # Brazil: 9-digit mobile first (canonical), the pre-2016 8-digit form second.
    ("5511987654321", ("5511987654321", "551187654321")),
    ("551187654321", ("5511987654321", "551187654321")),
    ("+55 21 99876-5432", ("5521998765432", "552198765432")),
    ("551133334444", ("551133334444",)),  # a landline (subscriber starts 2-5) has one form
    # Mexico: 521 + 10 digits canonical; 52 + 10 digits the same user.
    ("525512345678", ("5215512345678", "525512345678")),
    ("5215512345678", ("5215512345678", "525512345678")),
    # Argentina: 549 + 10 digits; 54 + 10, trunk 0 and the domestic 15 after the area code.
    ("541112345678", ("5491112345678", "541112345678")),
    ("5491112345678", ("5491112345678", "541112345678")),
    ("54111512345678", ("5491112345678", "541112345678")),
    ("54351151234567", ("5493511234567", "543511234567")),  # Cordoba: 3-digit area
    # A trunk 0 typed after the country code, and a 00 international prefix.
    ("4407911123456", ("447911123456",)),
    ("00447911123456", ("447911123456",)),
    ("15551234567", ("15551234567",)),
]


@pytest.mark.parametrize(("typed", "forms"), FORMS)
def test_forms_of(typed, forms):
    assert forms_of(typed) == forms


def test_a_registered_form_wins_over_the_canonical_one():
    assert resolve("5511987654321", {"551187654321"}) == "551187654321"
    assert resolve("5511987654321", set()) == "5511987654321"
    assert resolve("525512345678", set()) == "5215512345678"
    assert resolve("541112345678", {"541112345678"}) == "541112345678"


def _send_text(graph, to: str):
    body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}}
    return graph.post(f"/{PNID}/messages", json=body)


def test_a_send_to_another_form_of_a_customer_answers_their_wa_id_and_finds_the_window(
    sandbox, graph
):
    sandbox.customer_sends_text(PNID, "551187654321", "oi")  # wrote in: registered, window open
    assert "551187654321" in sandbox.customers()

    response = _send_text(graph, "+5511987654321")

    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [{"input": "+5511987654321", "wa_id": "551187654321"}]
    [sent] = sandbox.sent_messages(PNID)
    assert sent["wa_id"] == "551187654321"


def test_an_unregistered_number_answers_metas_canonical_form(sandbox, graph):
    sandbox.set_window_enforcement(False)
    response = _send_text(graph, "525512345678")
    assert response.json()["contacts"] == [{"input": "525512345678", "wa_id": "5215512345678"}]


def test_registering_a_customer_through_the_control_api(sandbox, graph):
    sandbox.set_window_enforcement(False)
    assert sandbox.register_customer("+54 11 1234-5678") == "541112345678"
    response = _send_text(graph, "5491112345678")
    assert response.json()["contacts"][0]["wa_id"] == "541112345678"
    sandbox.reset()
    assert sandbox.customers() == []


def test_the_window_is_the_users_not_the_typed_forms(sandbox, graph):
    sandbox.customer_sends_text(PNID, "551187654321", "oi")
    assert _send_text(graph, "5511987654321").status_code == 200
    # Another Brazilian user, whose 8-digit form never wrote in, still has no window.
    other = _send_text(graph, "5511987650000")
    assert other.status_code == 400
    assert other.json()["error"]["code"] == 131047


def test_a_window_opened_through_the_control_api_registers_that_wa_id(sandbox, graph):
    """Opening a window stands for a message from that exact wa_id: sends to it (and to its
    other forms) answer it and find the window, even for a non-canonical Mexican form."""
    sandbox.set_window(PNID, "525512345678")
    for typed in ("525512345678", "+5215512345678"):
        response = _send_text(graph, typed)
        assert response.status_code == 200, response.text
        assert response.json()["contacts"][0]["wa_id"] == "525512345678"
    sandbox.set_window(PNID, "US.13491208655302741918")  # a BSUID is not a wa_id
    assert sandbox.customers() == ["525512345678"]
