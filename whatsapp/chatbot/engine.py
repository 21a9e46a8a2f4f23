"""What the bot does with one inbound message: a pure decision (no database, no sending), used
by the worker (`whatsapp.chatbot.services.chatbot_messages_handle`) and by the simulator alike.

Order of evaluation, fixed:
1. opt-out words (STOP and the organization's): the contact is opted out of marketing and gets
   the confirmation once;
2. human takeover lock: while a member (or the external bot) holds the conversation, silence;
3. loop cut-off: at most `max_replies_per_minute` bot replies per conversation per minute;
4. the active menu step (unless expired; a cancel word leaves it): the step's rules;
5. top-level rules, by priority (lower first), for every number or this one;
6. the external bot, when the organization configured one;
7. the fallback text.
Welcome (a conversation's first message) and away (outside business hours) notices are sent
before the reply, each at most once per conversation per `notice_period_hours`.
Reactions, edits, revokes and system messages are ignored unless a rule names their type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from whatsapp.chatbot.hours import is_open
from whatsapp.chatbot.matching import Incoming, normalize, rule_matches

OPT_OUT_WORDS = ("stop",)
IGNORED_TYPES = frozenset(
    {"reaction", "edit", "revoke", "system", "unsupported", "request_welcome"}
)


@dataclass(frozen=True)
class Reply:
    """One outbound message: Meta's `type` and the object under it (the send API's content)."""

    type: str
    content: dict[str, Any]


@dataclass(frozen=True)
class State:
    """The conversation's bot state when the message arrived."""

    step: str = ""
    step_expires_at: datetime | None = None
    takeover_until: datetime | None = None
    welcomed_at: datetime | None = None
    away_sent_at: datetime | None = None
    opted_out: bool = False
    replies_last_minute: int = 0


@dataclass(frozen=True)
class Decision:
    """`action`: opt_out, takeover, loop_cut, ignored, step_cancelled, step, rule,
    external_bot, fallback or none. `step`: the step to enter ("" leaves it; None keeps it)."""

    action: str
    replies: tuple[Reply, ...] = ()
    rule_id: int | None = None
    step: str | None = None
    takeover: bool = False
    opt_out: bool = False
    call_external_bot: bool = False
    # The rule's template for a closed 24-hour window (sent instead of its reply).
    window_template: dict[str, Any] | None = None
    welcomed: bool = False
    away: bool = False
    detail: str = ""
    notices: tuple[str, ...] = field(default=())


def rule_reply(rule: Any) -> tuple[Reply, ...]:
    """The outbound messages of a rule's reply (none for `external_bot`, maybe none for
    `handoff`)."""
    reply = rule.reply or {}
    kind = rule.reply_kind
    if kind in ("text", "handoff"):
        body = str(reply.get("body") or "")
        return (Reply("text", {"body": body}),) if body else ()
    if kind == "media":
        media_type = str(reply.get("type") or "image")
        content = {k: v for k, v in reply.items() if k in ("link", "id", "caption", "filename")}
        return (Reply(media_type, content),)
    if kind == "buttons":
        buttons = [
            {"type": "reply", "reply": {"id": str(b["id"]), "title": str(b["title"])}}
            for b in reply.get("buttons") or []
        ]
        content = {"type": "button", "body": {"text": str(reply.get("body") or "")}}
        return (Reply("interactive", content | {"action": {"buttons": buttons}}),)
    if kind == "list":
        action = {"button": str(reply.get("button") or "Options"), "sections": reply["sections"]}
        content = {"type": "list", "body": {"text": str(reply.get("body") or "")}}
        return (Reply("interactive", content | {"action": action}),)
    if kind == "template":
        content = {k: v for k, v in reply.items() if k in ("name", "language", "components")}
        return (Reply("template", content),)
    return ()


def _first_match(rules: Sequence[Any], *, step: str, phone_number_id: str, incoming: Incoming):
    for rule in rules:
        if not rule.enabled or rule.step != step:
            continue
        if rule.phone_number_id and rule.phone_number_id != phone_number_id:
            continue
        if rule_matches(
            match_kind=rule.match_kind,
            pattern=rule.pattern,
            ignore_case=rule.ignore_case,
            incoming=incoming,
        ):
            return rule
    return None


def _rule_decision(rule: Any, *, action: str) -> Decision:
    return Decision(
        action=action,
        replies=rule_reply(rule),
        rule_id=rule.pk,
        step=rule.next_step or "",
        takeover=rule.reply_kind == "handoff",
        call_external_bot=rule.reply_kind == "external_bot",
        window_template=getattr(rule, "window_template", None) or None,
        detail=rule.name,
    )


def _words(values: Sequence[str]) -> set[str]:
    return {normalize(str(v), fold=True) for v in values if str(v).strip()}


def decide(
    *,
    incoming: Incoming,
    phone_number_id: str,
    settings: Any,
    rules: Sequence[Any],
    state: State,
    now: datetime,
    time_zone: str = "",
    org_hours: dict | None = None,
) -> Decision:
    """The bot's answer to `incoming` (see the module for the order). `settings` is a
    ChatbotSettings, `rules` ChatbotRule rows in priority order; `time_zone` (IANA) for the
    business hours when the settings name none (else UTC); `org_hours` (the hours' shape of
    `whatsapp.chatbot.hours`) the organization's own business hours, used when the settings
    have none (neither: always open). Nothing is written."""
    if not settings.enabled:
        return Decision(action="none", detail="bot disabled")
    typed_rule_exists = any(
        r.match_kind == "message_type" and r.pattern == incoming.type for r in rules
    )
    if incoming.type in IGNORED_TYPES and not typed_rule_exists:
        return Decision(action="ignored", detail=incoming.type)
    said = normalize(incoming.text, fold=True)
    if said and said in _words([*OPT_OUT_WORDS, *(settings.opt_out_words or [])]):
        confirm = settings.opt_out_confirmation if not state.opted_out else ""
        replies = (Reply("text", {"body": confirm}),) if confirm else ()
        return Decision(action="opt_out", replies=replies, opt_out=True, step="")
    if state.takeover_until is not None and state.takeover_until > now:
        return Decision(action="takeover", detail="a person holds this conversation")
    if state.replies_last_minute >= settings.max_replies_per_minute:
        return Decision(action="loop_cut", detail="reply limit per minute reached")
    decision = _reply_decision(incoming, phone_number_id, settings, rules, state, now)
    return _with_notices(
        decision,
        settings=settings,
        state=state,
        now=now,
        time_zone=settings.time_zone or time_zone or "UTC",
        business_hours=settings.business_hours or org_hours or {},
    )


def _reply_decision(incoming, phone_number_id, settings, rules, state, now) -> Decision:
    said = normalize(incoming.text, fold=True)
    in_step = bool(state.step) and (state.step_expires_at is None or state.step_expires_at > now)
    if in_step:
        if said and said in _words(settings.cancel_words or []):
            return Decision(action="step_cancelled", step="", detail=state.step)
        rule = _first_match(
            rules, step=state.step, phone_number_id=phone_number_id, incoming=incoming
        )
        if rule is not None:
            return _rule_decision(rule, action="step")
    rule = _first_match(rules, step="", phone_number_id=phone_number_id, incoming=incoming)
    if rule is not None:
        return _rule_decision(rule, action="rule")
    if settings.external_bot_url:
        return Decision(action="external_bot", call_external_bot=True)
    if settings.fallback_text:
        return Decision(
            action="fallback", replies=(Reply("text", {"body": settings.fallback_text}),)
        )
    return Decision(action="none")


def _with_notices(
    decision: Decision,
    *,
    settings: Any,
    state: State,
    now: datetime,
    time_zone: str,
    business_hours: dict,
) -> Decision:
    period = timedelta(hours=settings.notice_period_hours)
    notices: list[Reply] = []
    welcomed = away = False
    if settings.welcome_text and (state.welcomed_at is None or now - state.welcomed_at >= period):
        notices.append(Reply("text", {"body": settings.welcome_text}))
        welcomed = True
    closed = not is_open(
        business_hours=business_hours,
        holidays=settings.holidays or [],
        time_zone=time_zone,
        now=now,
    )
    if (
        closed
        and settings.away_text
        and (state.away_sent_at is None or now - state.away_sent_at >= period)
    ):
        notices.append(Reply("text", {"body": settings.away_text}))
        away = True
    if not notices:
        return decision
    names = tuple(n for n, flag in (("welcome", welcomed), ("away", away)) if flag)
    return Decision(
        **{
            **decision.__dict__,
            "replies": (*notices, *decision.replies),
            "welcomed": welcomed,
            "away": away,
            "notices": names,
        }
    )
