"""How Meta maps the number a business typed onto the WhatsApp user it means (`contacts[].wa_id`).

The send answer's `contacts[0].wa_id` is the user's WhatsApp id, which may differ from `input`
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages, "contacts"):

- Brazil (55): mobiles gained a ninth digit (55 + 2-digit area + 9 + 8 digits); accounts
  registered before keep the 8-digit form (55 + area + 8 digits), and either form reaches them.
- Mexico (52): the `1` after 52 was dropped from mobile dialling in 2019; WhatsApp ids keep it
  (521 + 10 digits), and 52 + 10 digits reaches the same user.
- Argentina (54): mobiles are 549 + 10 digits internationally; 54 + 10 digits, and the domestic
  `15` mobile prefix after the area code, reach the same user.
- A trunk prefix `0` typed after the country code (+44 0 7911...) is dropped.

Deliberately independent of the product's own normalisation (whatsapp.graph.wa_id) and of
`phonenumbers`, so a test against the sandbox checks the product against a second opinion.
"""

from __future__ import annotations

# Countries whose numbers are dialled with a national trunk prefix "0" that Meta drops when it is
# typed after the country code (Italy, 39, keeps its leading 0 and is not here).
TRUNK_ZERO_COUNTRIES = ("44", "49", "33", "31", "61", "62", "91", "234", "27", "254", "20")
# Argentine area codes are 2-4 digits (11 Buenos Aires, 351 Cordoba, 2966 Rio Gallegos): the
# mobile prefix `15` follows the area code, so its position depends on the area code's length.
_AR_AREA_LENGTHS = (2, 3, 4)


def _strip_trunk_zero(digits: str) -> str:
    for code in TRUNK_ZERO_COUNTRIES:
        if digits.startswith(code + "0") and len(digits) > len(code) + 8:
            return code + digits[len(code) + 1 :]
    return digits


def forms_of(typed: str) -> tuple[str, ...]:
    """Every wa_id Meta treats as the user `typed` means, the canonical one first.

    Canonical = the form Meta answers for a user it has no other record of: the 9-digit
    Brazilian mobile, 521 for Mexico, 549 for Argentina, otherwise the typed digits.
    """
    digits = "".join(ch for ch in typed if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    digits = _strip_trunk_zero(digits)
    if digits.startswith("55"):
        national = digits[2:]
        if len(national) == 11 and national[2] == "9" and national[3] in "6789":
            return (digits, "55" + national[:2] + national[3:])
        if len(national) == 10 and national[2] in "6789":
            return ("55" + national[:2] + "9" + national[2:], digits)
    elif digits.startswith("52"):
        national = digits[2:]
        if len(national) == 11 and national.startswith("1"):
            return (digits, "52" + national[1:])
        if len(national) == 10:
            return ("521" + national, digits)
    elif digits.startswith("54"):
        national = digits[2:]
        if national.startswith("0"):  # trunk prefix
            national = national[1:]
        if len(national) == 12 and not national.startswith("9"):
            for length in _AR_AREA_LENGTHS:
                if national[length : length + 2] == "15":
                    national = national[:length] + national[length + 2 :]
                    break
        if len(national) == 11 and national.startswith("9"):
            return ("54" + national, "54" + national[1:])
        if len(national) == 10:
            return ("549" + national, "54" + national)
    return (digits,)


def resolve(typed: str, registered: set[str] | frozenset[str]) -> str:
    """The wa_id Meta answers for `typed`: a registered form when one exists, else canonical."""
    forms = forms_of(typed)
    for form in forms:
        if form in registered:
            return form
    return forms[0]
