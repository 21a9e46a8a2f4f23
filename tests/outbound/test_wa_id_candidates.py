"""Unit tests (no database, no HTTP) of `wa_id_candidates`: the forms Meta treats as one user,
country by country, and the recipient check that must accept Meta's own wa_id forms."""

from __future__ import annotations

import pytest

from whatsapp.graph.wa_id import wa_id_candidates
from whatsapp.services.outbound.rules import recipient_normalize

CASES = [
    # Brazil: a mobile with and without the ninth digit; the given form first.
    ("5511987654321", ("5511987654321", "551187654321")),
    ("551187654321", ("551187654321", "5511987654321")),
    ("5521998765432", ("5521998765432", "552198765432")),
    # Brazil: a landline (subscriber starts 2-5) has one form; a trunk 0 is not part of it.
    ("551133334444", ("551133334444",)),
    ("5501187654321", ("5501187654321", "551187654321", "5511987654321")),
    # Mexico: the legacy 521 mobile prefix.
    ("5215512345678", ("5215512345678", "525512345678")),
    ("525512345678", ("525512345678", "5215512345678")),
    # Argentina: 549 mobiles, 54 + 10 digits, and the domestic 15 after the area code.
    ("5491112345678", ("5491112345678", "541112345678")),
    ("541112345678", ("541112345678", "5491112345678")),
    ("54111512345678", ("54111512345678", "5491112345678", "541112345678")),
    ("54351151234567", ("54351151234567", "5493511234567", "543511234567")),
    # Leading zeros and trunk prefixes after the country code.
    ("4407911123456", ("4407911123456", "447911123456")),
    ("49015112345678", ("49015112345678", "4915112345678")),
    ("+44 (0) 7911 123456", ("4407911123456", "447911123456")),
    # Italy keeps its leading 0; the US and Germany have one form.
    ("390612345678", ("390612345678",)),
    ("15551234567", ("15551234567",)),
    ("4915123456789", ("4915123456789",)),
    # Not a phone number at all.
    ("", ()),
    ("999123", ("999123",)),  # no such country code
]


@pytest.mark.parametrize(("digits", "forms"), CASES)
def test_wa_id_candidates(digits, forms):
    assert wa_id_candidates(digits) == forms


@pytest.mark.parametrize(("digits", "_"), [case for case in CASES if len(case[1]) > 1])
def test_every_form_names_the_same_user(digits, _):
    """The relation is symmetric: each form's candidates contain the others' canonical forms."""
    forms = set(wa_id_candidates(digits)[1:]) or {digits}
    for form in forms:
        assert set(wa_id_candidates(form)) >= forms


def test_metas_mexican_wa_id_is_an_acceptable_recipient():
    """phonenumbers follows the 2019 plan and calls 52 1 + 10 digits impossible; Meta's wa_ids
    (and so the `from` of every Mexican customer) still carry the 1."""
    assert recipient_normalize(recipient="+5215512345678").value == "5215512345678"
    assert recipient_normalize(recipient="5215512345678").value == "5215512345678"
