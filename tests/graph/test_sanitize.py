"""Unit tests: values PostgreSQL refuses become U+FFFD; clean trees are returned as they are."""

from __future__ import annotations

import json

from whatsapp.graph.sanitize import REPLACEMENT, json_clean, text_clean


def test_nul_and_lone_surrogates_become_replacement_characters():
    parsed = json.loads('"a\\u0000b\\ud800c\\udfffd"')
    assert text_clean(parsed) == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}d"
    assert text_clean(parsed).encode("utf-8")  # encodable now


def test_valid_pairs_and_emoji_are_kept():
    parsed = json.loads('"\\ud83d\\ude00 ok"')  # a valid surrogate pair: 😀
    assert text_clean(parsed) == "😀 ok"


def test_json_clean_cleans_keys_values_and_nested_lists():
    tree = json.loads('{"k\\u0000": ["x\\u0000", {"y": "\\ud800"}], "n": 1, "b": true}')
    assert json_clean(tree) == {f"k{REPLACEMENT}": [f"x{REPLACEMENT}", {"y": REPLACEMENT}],
                                "n": 1, "b": True}  # fmt: skip


def test_json_clean_returns_the_same_object_when_nothing_changes():
    tree = {"a": ["b", {"c": 1}], "d": None}
    assert json_clean(tree) is tree


def test_json_clean_turns_non_finite_numbers_into_text():
    tree = json.loads('{"a": NaN, "b": [Infinity, -Infinity, 1.5]}')
    assert json_clean(tree) == {"a": "nan", "b": ["inf", "-inf", 1.5]}
