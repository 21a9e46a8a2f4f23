"""Rule triggers (pure functions: no database)."""

from __future__ import annotations

import time

import pytest

from whatsapp.chatbot.matching import (
    REGEX_MAX_LENGTH,
    Incoming,
    PatternError,
    pattern_check,
    rule_matches,
)


def fires(kind: str, pattern: str, text: str = "", *, fold: bool = True, **incoming) -> bool:
    message = Incoming(type=incoming.pop("type", "text"), text=text, **incoming)
    return rule_matches(match_kind=kind, pattern=pattern, ignore_case=fold, incoming=message)


@pytest.mark.parametrize(
    ("kind", "pattern", "text", "fold", "expected"),
    [
        ("exact", "Preço", "  preco ", True, True),
        ("exact", "Preço", "preco", False, False),
        ("exact", "price", "price list", True, False),
        ("contains", "HORÁRIO", "qual o horario de vocês?", True, True),
        ("contains", "horário", "qual o HORÁRIO?", False, False),
        ("starts_with", "menu", "Menu please", True, True),
        ("starts_with", "menu", "the menu", True, False),
        ("regex", r"^order\s+#?\d{4,}$", "ORDER #12345", True, True),
        ("regex", r"^order\s+#?\d{4,}$", "ORDER #12345", False, False),
        ("regex", r"pedido", "Pédido 12", True, True),
    ],
)
def test_text_triggers_with_and_without_case_and_accent_folding(
    kind, pattern, text, fold, expected
):
    assert fires(kind, pattern, text, fold=fold) is expected


def test_interactive_id_and_message_type_triggers():
    assert fires(
        "interactive_id", "menu.sales", "Sales", type="interactive", interactive_id="menu.sales"
    )
    assert not fires("interactive_id", "menu.sales", "menu.sales")  # typed text is not a tap
    assert fires("message_type", "image", type="image")
    assert not fires("message_type", "image", type="video")


def test_catastrophic_backtracking_pattern_runs_in_linear_time():
    """`(a+)+$` takes exponential time on Python's `re` with "aaaa…b"; on RE2 it is linear."""
    pattern_check(match_kind="regex", pattern=r"(a+)+$")
    started = time.monotonic()
    assert not fires("regex", r"(a+)+$", "a" * 4000 + "!")
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "backreferences"),
        (r"foo(?=bar)", "look-arounds"),
        ("a" * (REGEX_MAX_LENGTH + 1), "at most"),
        ("(unclosed", "valid"),
        ("   ", "empty"),
    ],
)
def test_unusable_regexes_are_refused_when_saved(pattern, why):
    with pytest.raises(PatternError, match=why):
        pattern_check(match_kind="regex", pattern=pattern)
