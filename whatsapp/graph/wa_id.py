"""The forms of a phone number that Meta treats as one WhatsApp user.

Meta answers every send with `contacts[].wa_id`, the user's WhatsApp id, which may differ from the
number typed (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages), and
a customer writes in from that id. The known differences:

- Brazil (55): mobiles gained a ninth digit (55 + 2-digit area + 9 + 8 digits); accounts made
  before keep the 8-digit form (55 + area + 8 digits) as their wa_id, and either form reaches
  them. Only mobiles: an 8-digit subscriber number starting 6-9 (landlines start 2-5).
- Mexico (52): mobiles were dialled 52 1 + 10 digits until 2019; wa_ids keep the `1`.
- Argentina (54): mobiles are 54 9 + 10 digits internationally and wa_ids carry the 9; 54 + 10
  digits and the domestic `15` after the area code reach the same user.
- A trunk prefix or leading zero typed after the country code (+44 0 7911..., +55 0 11...) is
  not part of the number; `phonenumbers` knows each country's national prefix (and that Italy
  keeps its leading 0).

Plain Python (no Django): used by the contact lookup, the 24-hour window check and the link of a
sent message to its contact.
"""

from __future__ import annotations

import phonenumbers

BRAZIL, MEXICO, ARGENTINA = 55, 52, 54


def wa_id_candidates(digits: str) -> tuple[str, ...]:
    """Every wa_id that means the same user as `digits` (a wa_id or E.164 digits, `+` allowed).

    The given form comes first (so an exact match wins), then the form without a trunk prefix,
    then the country's other forms; no duplicates. Empty input gives (); digits that are not a
    phone number give just themselves.
    """
    raw = "".join(ch for ch in digits if ch.isdigit())
    if not raw:
        return ()
    forms = [raw]
    try:
        number = phonenumbers.parse("+" + raw.removeprefix("00"), None)
    except phonenumbers.NumberParseException:
        return (raw,)
    code = number.country_code
    national = phonenumbers.national_significant_number(number)
    forms.append(f"{code}{national}")
    if code == BRAZIL and len(national) == 11 and national[2] == "9" and national[3] in "6789":
        forms.append(f"{code}{national[:2]}{national[3:]}")
    elif code == BRAZIL and len(national) == 10 and national[2] in "6789":
        forms.append(f"{code}{national[:2]}9{national[2:]}")
    elif code == MEXICO and len(national) == 11 and national.startswith("1"):
        forms.append(f"{code}{national[1:]}")
    elif code == MEXICO and len(national) == 10:
        forms.append(f"{code}1{national}")
    elif code == ARGENTINA and len(national) == 11 and national.startswith("9"):
        forms.append(f"{code}{national[1:]}")
    elif code == ARGENTINA and len(national) == 10:
        forms.append(f"{code}9{national}")
    return tuple(dict.fromkeys(forms))


def is_legacy_mexican_mobile(number: phonenumbers.PhoneNumber) -> bool:
    """52 1 + 10 digits: Meta's wa_id form of a Mexican mobile, which `phonenumbers` (following
    the 2019 dialling plan) no longer calls a possible number."""
    national = phonenumbers.national_significant_number(number)
    return number.country_code == MEXICO and len(national) == 11 and national.startswith("1")
