"""The bot's decision (pure: rules and settings are plain objects standing in for the rows, no
database): the fixed order opt-out -> takeover -> loop cut -> step -> rules -> external bot ->
fallback, reactions, step expiry and notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from whatsapp.chatbot.engine import State, decide
from whatsapp.chatbot.matching import Incoming

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FRESH = State()


def settings(**changes):
    base = dict(
        enabled=True,
        time_zone="",
        business_hours={},
        holidays=[],
        welcome_text="",
        away_text="",
        notice_period_hours=24,
        fallback_text="",
        takeover_hours=24,
        session_minutes=30,
        cancel_words=["cancel"],
        opt_out_words=["unsubscribe"],
        opt_out_confirmation="You are unsubscribed.",
        max_replies_per_minute=5,
        external_bot_url="",
    )
    return SimpleNamespace(**(base | changes))


def rule(
    pk, pattern, *, body="ok", step="", kind="exact", reply_kind="text", next_step="", number=""
):
    return SimpleNamespace(
        pk=pk,
        name=f"rule {pk}",
        enabled=True,
        priority=pk,
        phone_number_id=number,
        step=step,
        match_kind=kind,
        pattern=pattern,
        ignore_case=True,
        reply_kind=reply_kind,
        reply={"body": body},
        next_step=next_step,
    )


def run(
    text="",
    *,
    rules=(),
    state=FRESH,
    type="text",
    interactive_id="",
    number="1",
    org_hours=None,
    **s,
):
    return decide(
        incoming=Incoming(type=type, text=text, interactive_id=interactive_id),
        phone_number_id=number,
        settings=settings(**s),
        rules=list(rules),
        state=state,
        now=NOW,
        org_hours=org_hours,
    )


def test_opt_out_comes_first_and_confirms_once():
    rules = [rule(1, "stop", body="rule reply")]
    first = run("STOP", rules=rules, state=State(takeover_until=NOW + timedelta(hours=1)))
    assert (first.action, first.opt_out) == ("opt_out", True)
    assert first.replies[0].content == {"body": "You are unsubscribed."}
    assert run("Unsubscribe", state=State(opted_out=True)).replies == ()


def test_takeover_then_loop_cut_silence_the_bot():
    busy = State(takeover_until=NOW + timedelta(minutes=1), replies_last_minute=99)
    assert run("hi", rules=[rule(1, "hi")], state=busy).action == "takeover"
    assert run("hi", rules=[rule(1, "hi")], state=State(replies_last_minute=5)).action == "loop_cut"
    assert run("hi", rules=[rule(1, "hi")], state=State(takeover_until=NOW)).action == "rule"


def test_step_rules_first_then_top_level_and_an_expired_step_is_left():
    rules = [rule(1, "1", body="top"), rule(2, "1", body="in menu", step="m")]
    in_menu = State(step="m", step_expires_at=NOW + timedelta(minutes=5))
    assert run("1", rules=rules, state=in_menu).replies[0].content["body"] == "in menu"
    expired = State(step="m", step_expires_at=NOW - timedelta(seconds=1))
    assert run("1", rules=rules, state=expired).replies[0].content["body"] == "top"
    assert run("Cancel", rules=rules, state=in_menu).action == "step_cancelled"


def test_priority_and_number_scoping():
    rules = [rule(1, "hi", body="number 2 only", number="2"), rule(2, "hi", body="any number")]
    assert run("hi", rules=rules, number="2").replies[0].content["body"] == "number 2 only"
    assert run("hi", rules=rules, number="1").replies[0].content["body"] == "any number"


def test_external_bot_before_fallback():
    assert run("??", external_bot_url="http://bot", fallback_text="fb").action == "external_bot"
    assert run("??", fallback_text="fb").action == "fallback"
    assert run("??").action == "none"


def test_reactions_are_ignored_unless_a_rule_names_them():
    assert run(type="reaction", fallback_text="fb").action == "ignored"
    liked = run(type="reaction", rules=[rule(1, "reaction", kind="message_type", body="Thanks!")])
    assert liked.replies[0].content["body"] == "Thanks!"


def test_notices_precede_the_reply_once_per_period():
    closed = {"mon": [["13:00", "14:00"]]}  # NOW is Monday 12:00 UTC
    first = run(
        "??", fallback_text="fb", welcome_text="Welcome", away_text="Away", business_hours=closed
    )
    assert [r.content["body"] for r in first.replies] == ["Welcome", "Away", "fb"]
    recent = State(welcomed_at=NOW - timedelta(hours=23), away_sent_at=NOW - timedelta(hours=1))
    again = run(
        "??",
        fallback_text="fb",
        welcome_text="Welcome",
        away_text="Away",
        business_hours=closed,
        state=recent,
    )
    assert [r.content["body"] for r in again.replies] == ["fb"]
    assert run("??", enabled=False, fallback_text="fb").action == "none"


def test_the_organizations_hours_apply_when_the_bot_has_none():
    """NOW is Monday 12:00 UTC: the organization is closed then, the bot's own hours open."""
    org_closed = {"mon": [["13:00", "17:00"]]}
    assert run("??", away_text="Away", org_hours=org_closed).away
    assert not run("??", away_text="Away", org_hours={}).away  # no hours anywhere: open
    bot_open = {"sun": [["22:00", "14:00"]]}  # its own hours win (Sunday night into Monday)
    assert not run("??", away_text="Away", org_hours=org_closed, business_hours=bot_open).away
