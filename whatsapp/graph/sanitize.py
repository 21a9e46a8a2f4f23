"""Make any value Meta sends storable: PostgreSQL refuses some characters that JSON allows.

A `text`/`jsonb` column cannot hold U+0000 (the JSON escape `\\u0000`), and UTF-8 cannot encode
a lone surrogate (`\\ud800`), yet both are valid JSON string escapes that a customer's client can
put in any field. Storing such a value raises and would fail the whole transaction, so every
string that reaches the database goes through `text_clean` (or `json_clean` for a whole tree):
each refused character becomes U+FFFD, the Unicode replacement character. The raw body keeps the
original bytes, so nothing is lost.

No Django here (house rule for `whatsapp.graph`).
"""

from __future__ import annotations

import math
import re
from typing import Any

REPLACEMENT = "\ufffd"
# NUL, and UTF-16 surrogates that Python keeps as code points after json.loads.
_REFUSED = re.compile("[\x00\ud800-\udfff]")


def text_clean(value: str) -> str:
    """`value` with every character PostgreSQL cannot store replaced by U+FFFD."""
    return _REFUSED.sub(REPLACEMENT, value) if _REFUSED.search(value) else value


def json_clean(value: Any) -> Any:
    """A copy of a parsed JSON tree (dicts, lists, scalars) safe for a `jsonb` column.

    Keys and string values are cleaned with `text_clean`; NaN and infinities (which Python's
    json accepts and jsonb refuses) become the strings "nan"/"inf"/"-inf"; other scalars are
    returned as they are. Returns the same object when nothing needed cleaning (no copy on the
    hot path).
    """
    if isinstance(value, str):
        return text_clean(value)
    if isinstance(value, dict):
        pairs = [
            (text_clean(k) if isinstance(k, str) else k, json_clean(v)) for k, v in value.items()
        ]
        unchanged = all(
            new_k is old_k and new_v is old_v
            for (new_k, new_v), (old_k, old_v) in zip(pairs, value.items(), strict=True)
        )
        return value if unchanged else dict(pairs)
    if isinstance(value, float) and not math.isfinite(value):
        # Python's json accepts NaN/Infinity; jsonb refuses them. Kept as text, not dropped.
        return str(value)
    if isinstance(value, list):
        items = [json_clean(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
