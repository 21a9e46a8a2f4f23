"""The error policy of every sender: what a Meta error code does to an outgoing message.

One table (`ERROR_POLICY`), read by the sending pipeline for Meta's synchronous answer and by
the status-webhook path for `failed` receipts (whatsapp.services.statuses), so a code means the
same thing whichever way it arrives. Codes and advice: Meta's error-code page
(https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes) and throughput
page (https://developers.facebook.com/docs/whatsapp/throughput).

Actions:
- `slow_number` (130429, throughput): push the number's shared limiter back (every worker
  pauses that number) and requeue the message; bounded by WHATSAPP_SEND_MAX_ATTEMPTS.
- `pair_backoff` (131056, pair rate): block the (number, recipient) pair in Redis for 4^n s
  (n = 131056s seen for the pair recently: 1, 4, 16 s ...), shared by workers; requeue.
- `defer` (131049, per-user marketing limit): requeue no sooner than `delay` (24 h), at most
  `max_attempts` attempts in all; the sweeper enqueues it when `next_attempt_at` passes.
- `opt_out` (131050): mark the contact opted out of marketing; fail; never retried.
- `terminal` (131047, 131026, 131030, 132015, 132016, other permanent codes): fail now with
  Meta's code and title and a reason a caller can act on.
- `retry` (5xx, 1/2/131000, other rate limits): backoff with jitter (RetryPolicy).
- `halt` (190): the Graph client already refreshed the token once; halt the organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone

from whatsapp.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphRateLimitedError,
    GraphTransientError,
)
from whatsapp.models import Contact
from whatsapp.services.outbound.rules import FailureReason


class Action(StrEnum):
    RETRY = "retry"
    SLOW_NUMBER = "slow_number"
    PAIR_BACKOFF = "pair_backoff"
    DEFER = "defer"
    OPT_OUT = "opt_out"
    TERMINAL = "terminal"
    HALT = "halt"


@dataclass(frozen=True)
class ErrorRule:
    """What to do for one code. `reason` is the message's failure_reason if it ends there;
    `delay` the minimum wait in seconds before another attempt; `hint` what the caller can do."""

    action: Action
    reason: str
    delay: float = 0.0
    max_attempts: int | None = None
    hint: str = ""


ERROR_POLICY: dict[int, ErrorRule] = {
    130429: ErrorRule(Action.SLOW_NUMBER, "throughput_exceeded", delay=1.0),
    131056: ErrorRule(Action.PAIR_BACKOFF, "pair_rate_limited", delay=1.0),
    131049: ErrorRule(
        Action.DEFER,
        "marketing_limit",
        delay=24 * 3600.0,
        max_attempts=3,
        hint="Meta limits marketing templates per user; retried no sooner than 24 hours.",
    ),
    131050: ErrorRule(
        Action.OPT_OUT,
        "marketing_opted_out",
        hint="The user stopped marketing messages from this business: the contact is marked "
        "opted out and no marketing message is retried.",
    ),
    131047: ErrorRule(
        Action.TERMINAL,
        FailureReason.OUTSIDE_WINDOW,
        hint="More than 24 hours since the customer last wrote: send an approved template.",
    ),
    131026: ErrorRule(
        Action.TERMINAL,
        "undeliverable",
        hint="Meta could not deliver to this number (not on WhatsApp, old app, or blocked).",
    ),
    131030: ErrorRule(
        Action.TERMINAL,
        "recipient_not_allowed",
        hint="The recipient is not in the number's allowed list (test numbers only).",
    ),
    132015: ErrorRule(
        Action.TERMINAL,
        "template_paused",
        hint="Meta paused this template for low quality: edit it or wait until Meta resumes it "
        "(3 hours the first time, 6 the second), then send again.",
    ),
    132016: ErrorRule(
        Action.TERMINAL,
        "template_disabled",
        hint="Meta disabled this template for low quality: create a new template.",
    ),
    190: ErrorRule(Action.HALT, FailureReason.SENDING_HALTED),
}
_RETRY = ErrorRule(Action.RETRY, FailureReason.RETRIES_EXHAUSTED)
_TERMINAL = ErrorRule(Action.TERMINAL, FailureReason.META_ERROR)
_HALT = ERROR_POLICY[190]
# Reasons of rules that end a message at once: a caller (campaigns) can branch on these.
TEMPLATE_UNAVAILABLE_REASONS = frozenset({"template_paused", "template_disabled"})


def error_rule_for(error: GraphError) -> ErrorRule:
    """The rule for a Graph error: the table first, then the error's family."""
    rule = ERROR_POLICY.get(error.code) if error.code is not None else None
    if rule is not None:
        return rule
    if isinstance(error, GraphAuthError):
        return _HALT
    if isinstance(error, GraphTransientError | GraphRateLimitedError):
        return _RETRY
    return _TERMINAL


def error_rule_for_code(code: int | None) -> ErrorRule:
    """The rule for a code seen in a `failed` status webhook (no exception object there)."""
    if code is None:
        return _TERMINAL
    return ERROR_POLICY.get(code, _TERMINAL)


def contact_opt_out_marketing(*, contact_id: int, source: str) -> bool:
    """Mark the contact opted out of marketing (first time wins). True when newly marked."""
    return bool(
        Contact.objects.filter(Q(pk=contact_id), Q(opted_out_at__isnull=True)).update(
            opted_out_at=timezone.now(),
            opt_out_source=source[:40],
            updated_at=timezone.now(),
        )
    )
