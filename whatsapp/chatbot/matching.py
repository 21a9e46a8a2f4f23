"""Rule triggers, pure functions (no database): text normalization, pattern checks, matching.

Regexes run on RE2 (`google-re2`): matching time is linear in the input whatever the pattern,
so a tenant's `(a+)+$` cannot stall a worker; RE2 refuses backreferences and look-arounds,
which is reported when the rule is saved. Patterns are capped at `REGEX_MAX_LENGTH` characters
and texts are matched on their first `TEXT_MAX_LENGTH` characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import re2

REGEX_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 4096
MATCH_KINDS = ("exact", "contains", "starts_with", "regex", "interactive_id", "message_type")


class PatternError(ValueError):
    """A rule's pattern cannot be used (message says why)."""


@dataclass(frozen=True)
class Incoming:
    """What the bot looks at in an inbound message: its type, text and interactive reply id."""

    type: str
    text: str = ""
    interactive_id: str = ""


def normalize(text: str, *, fold: bool) -> str:
    """Whitespace-trimmed text; with `fold`, also case-folded and stripped of accents
    ("Olá" -> "ola")."""
    text = " ".join(text[:TEXT_MAX_LENGTH].split())
    if not fold:
        return text
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=512)
def _compiled(pattern: str, fold: bool) -> re2._Regexp:
    options = re2.Options()
    options.case_sensitive = not fold
    options.max_mem = 1 << 20  # 1 MiB of automaton per pattern
    options.log_errors = False  # a refused pattern is reported to the user, not to stderr
    return re2.compile(pattern, options)


def pattern_check(*, match_kind: str, pattern: str, ignore_case: bool = True) -> None:
    """Raise PatternError if `pattern` is unusable for `match_kind` (empty, a regex too long or
    outside RE2's syntax)."""
    if match_kind not in MATCH_KINDS:
        raise PatternError(f"Unknown match kind {match_kind!r}.")
    if not pattern.strip():
        raise PatternError("The pattern is empty.")
    if match_kind != "regex":
        return
    if len(pattern) > REGEX_MAX_LENGTH:
        raise PatternError(f"A regex is at most {REGEX_MAX_LENGTH} characters.")
    try:
        _compiled(pattern, ignore_case)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise PatternError(
            f"Not a valid RE2 regex (no backreferences or look-arounds): {reason}"
        ) from exc


def rule_matches(*, match_kind: str, pattern: str, ignore_case: bool, incoming: Incoming) -> bool:
    """Whether a trigger fires for `incoming`. A pattern that no longer compiles never fires."""
    if match_kind == "message_type":
        return incoming.type == pattern.strip()
    if match_kind == "interactive_id":
        return bool(incoming.interactive_id) and incoming.interactive_id == pattern.strip()
    if not incoming.text:
        return False
    if match_kind == "regex":
        try:
            regex = _compiled(pattern, ignore_case)
        except re2.error:
            return False
        return regex.search(normalize(incoming.text, fold=ignore_case)) is not None
    text = normalize(incoming.text, fold=ignore_case)
    wanted = normalize(pattern, fold=ignore_case)
    if match_kind == "exact":
        return text == wanted
    if match_kind == "contains":
        return wanted in text
    if match_kind == "starts_with":
        return text.startswith(wanted)
    return False
