"""A generator of hostile `messages` change values: every field of every item gets, at random,
a value a database or a parser may choke on. Seeded, so a failure replays.

`hostile_value(rng)` is one such value; `hostile_change(rng, good=...)` is a change `value`
that mixes the `good` message dicts (which must all be stored) with hostile siblings: hostile
messages, statuses, contacts and hostile top-level keys.
"""

from __future__ import annotations

import copy
import random
from typing import Any

# What JSON can carry and PostgreSQL or Python may refuse or mangle.
STRINGS = [
    "nul \u0000 inside",
    "\u0000",
    "lone surrogate \ud800 high",
    "low \udfff",
    "emoji 👩🏽‍💻🇧🇷 and RTL \u202e\u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0633\u0644\u0627\u0645",
    "zero width \u200b\u200d joiner",
    "x" * 70_000,
    "",
    " ",
    "\\u0000 escaped text",
    "' OR 1=1; DROP TABLE whatsapp_whatsappmessage; --",
    "%s %(x)s {} {{}}",
    "\ufeffBOM",
    "\x7f\x1b[31mansi",
]
NUMBERS: list[Any] = [
    0,
    -1,
    -(2**63),
    2**63,
    2**64 + 1,
    10**30,
    99999999999999999999,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    -0.0,
    3.5,
    True,
    False,
]
TIMESTAMPS: list[Any] = [
    "99999999999999999999",
    "18446744073709551617",
    "-1",
    "0",
    "NaN",
    "1e400",
    "not a time",
    None,
    [],
    {},
    2**70,
    float("nan"),
]


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = {"n": value} if i % 2 else [value]
    return value


def hostile_value(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(STRINGS)
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return None
    if kind == 3:
        return [rng.choice(STRINGS), rng.choice(NUMBERS), None]
    if kind == 4:
        return {rng.choice(STRINGS): rng.choice(STRINGS), "\u0000key": 1}
    if kind == 5:
        return nested(rng.randrange(10, 200))
    if kind == 6:
        return rng.choice(TIMESTAMPS)
    if kind == 7:
        return {"type": rng.choice(STRINGS), "deep": nested(80)}
    return rng.choice([*STRINGS, None, 7, [], {}])


MESSAGE_KEYS = ["id", "from", "from_user_id", "timestamp", "type", "context", "referral", "errors"]
TYPES = [
    "text",
    "image",
    "document",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "system",
    "edit",
    "revoke",
    "order",
    "button",
    "unknown_future_type",
    "\u0000",
    "x" * 500,
]


def hostile_message(rng: random.Random, index: int) -> Any:
    if rng.random() < 0.1:
        return hostile_value(rng)  # not even an object
    kind = rng.choice(TYPES)
    message: dict[str, Any] = {
        "id": f"wamid.HOSTILE.{index}.{rng.choice(STRINGS)[:40]}",
        "from": "5511999990000",
        "timestamp": "1750857384",
        "type": kind,
        kind: {
            "body": rng.choice(STRINGS),
            "caption": hostile_value(rng),
            "id": hostile_value(rng),
            "mime_type": hostile_value(rng),
            "latitude": rng.choice(NUMBERS),
            "original_message_id": hostile_value(rng),
            "message": {"type": "text", "text": {"body": rng.choice(STRINGS)}},
            "type": rng.choice(["button_reply", "nfm_reply", "user_changed_number", "x"]),
            "nfm_reply": {"response_json": rng.choice(['{"a": "\\u0000"}', "{", "[1]", "1e999"])},
            "wa_id": hostile_value(rng),
        },
    }
    # Break a few fields with hostile values of any type.
    for key in rng.sample(MESSAGE_KEYS, rng.randrange(1, 4)):
        message[key] = hostile_value(rng)
    return message


def hostile_status(rng: random.Random, index: int) -> Any:
    if rng.random() < 0.1:
        return hostile_value(rng)
    status: dict[str, Any] = {
        "id": f"wamid.HOSTILE-STATUS.{index}",
        "status": rng.choice(["sent", "delivered", "read", "failed", "deleted", "\u0000"]),
        "timestamp": rng.choice(TIMESTAMPS),
        "recipient_id": hostile_value(rng),
        "biz_opaque_callback_data": hostile_value(rng),
        "errors": hostile_value(rng),
        "pricing": hostile_value(rng),
        "conversation": hostile_value(rng),
    }
    return status


def hostile_change(
    rng: random.Random, *, good: list[dict[str, Any]], phone_number_id: str
) -> dict[str, Any]:
    """A change `value`: the `good` messages at random places among hostile siblings."""
    messages: list[Any] = [hostile_message(rng, rng.randrange(10**9)) for _ in range(4)]
    for item in good:
        messages.insert(rng.randrange(len(messages) + 1), copy.deepcopy(item))
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": hostile_value(rng),
            "phone_number_id": phone_number_id,
        },
        "contacts": [
            {"profile": {"name": rng.choice(STRINGS)}, "wa_id": "5511999990000"},
            hostile_value(rng),
        ],
        "messages": messages,
        "statuses": [hostile_status(rng, rng.randrange(10**9)) for _ in range(3)],
    }
    if rng.random() < 0.3:
        value["errors"] = hostile_value(rng)
    if rng.random() < 0.3:
        value[rng.choice(STRINGS)[:20]] = hostile_value(rng)
    return value


def good_message(tag: str, n: int) -> dict[str, Any]:
    return {
        "from": "5511999990000",
        "id": f"wamid.GOOD.{tag}.{n}",
        "timestamp": "1750857384",
        "type": "text",
        "text": {"body": f"good {tag} {n}"},
    }


def router_storable(value: Any) -> Any:
    """`value` without what the current router's jsonb column refuses (NUL, lone surrogates,
    NaN/infinity): the hostile values that remain are the handler's to isolate."""
    from whatsapp.graph.sanitize import json_clean

    def finite(v: Any) -> Any:
        if (isinstance(v, float) and v != v) or v in (float("inf"), -float("inf")):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [finite(x) for x in v]
        return v

    return finite(json_clean(value))
