"""Running a campaign: start, pause, resume, cancel, retry, and the dispatcher that feeds the
one outbound pipeline.

Exactly once: each recipient's message carries the idempotency key
`campaign:<campaign>:<recipient>:<attempt>` (unique in the messages table), created by
`messages_bulk_create` in the same transaction that links the recipient to it, under the
campaign's row lock; the sending task claims only `queued` rows. Two starts, a resume racing a
pause, a redelivered dispatcher task or a worker killed mid-send can therefore never create or
send a second message for a recipient; only an explicit retry of a failed recipient sends a
new attempt.

Pacing: the dispatcher (`campaign_dispatch`, a task every `CAMPAIGN_TICK_SECONDS`) keeps only
`CAMPAIGN_LOOKAHEAD_SECONDS` of sends queued at the campaign's rate (the number's tier less the
share kept for live conversations, split between the campaigns running on the number), so the
shared per-number limiter (`whatsapp.services.ratelimit`) is never starved and never flooded,
several campaigns on a number advance together, and pause is immediate: the messages still
`queued` and never tried are held in the pause's transaction (`_hold_unsent`); only sends a
task already claimed still leave. Resume releases them, cancel fails them
(`campaign_cancelled`: never sent).

Auto-pause (reason kept on the campaign): the stored template PAUSED or DISABLED (status
webhook, see `hooks`) or a recent 132015/132016; the number's quality RED; a spike of 131049
(per-user marketing limit) or 131048 (spam rate limit) among the last dispatched recipients.
Meta's error codes: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing_stub.quota import quota_headroom, quota_use
from saas_platform.metrics import CAMPAIGN_PROGRESS
from saas_platform.queue import enqueue_on_commit
from tenants.models import PhoneNumber
from whatsapp.campaigns.errors import (
    CampaignNotFoundError,
    CampaignRefusedError,
    CampaignStateError,
)
from whatsapp.campaigns.models import Campaign, CampaignRecipient, idempotency_prefix
from whatsapp.campaigns.services.planning import (
    MARKETING,
    _messaging_limit,
    campaign_rate,
    plan_blockers,
    template_of,
)
from whatsapp.campaigns.services.progress import campaign_counts
from whatsapp.message_templates.compose import ParameterError, components_build, template_shape
from whatsapp.message_templates.services.send import template_for_send
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import (
    messages_bulk_create,
    messages_enqueue,
    messages_reclaim_unposted,
)
from whatsapp.services.outbound.rules import current_organization

logger = logging.getLogger(__name__)

DISPATCH_TASK = "whatsapp.campaigns.tasks.campaign_dispatch_task"
State = Campaign.State
RState = CampaignRecipient.State
MStatus = WhatsAppMessage.Status
SPIKE_CODES = {131049: "marketing_limit_spike", 131048: "spam_limit_spike"}
TEMPLATE_CODES = {132015: "template_paused", 132016: "template_disabled"}
TEMPLATE_REASONS = frozenset({"template_paused", "template_disabled", "template_unavailable"})
SPIKE_WINDOW = 200  # last dispatched recipients looked at
SPIKE_MIN = 10  # ... of which at least this many, and SPIKE_SHARE of them, hit one code
SPIKE_SHARE = 0.2
# A paused campaign's unsent messages wait with this `next_attempt_at` (see `_hold_unsent`).
HOLD_UNTIL = datetime(2999, 1, 1, tzinfo=UTC)


def _tick() -> float:
    return float(getattr(settings, "CAMPAIGN_TICK_SECONDS", 1.0))


def _lookahead() -> float:
    return float(getattr(settings, "CAMPAIGN_LOOKAHEAD_SECONDS", 5.0))


def _locked(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFoundError("No such campaign.")
    return campaign


def _dispatch_soon(campaign: Campaign, countdown: float | None = None) -> None:
    enqueue_on_commit(DISPATCH_TASK, args=[campaign.pk], countdown=countdown)


def _number(campaign: Campaign) -> PhoneNumber | None:
    return PhoneNumber.objects.filter(
        organization=current_organization(), phone_number_id=campaign.phone_number_id
    ).first()


@transaction.atomic
def campaign_start(*, campaign_id: int) -> Campaign:
    """Start a planned campaign now (or at its `scheduled_at`). Idempotent: a running or
    scheduled campaign is returned as it is.

    Checked again at start, with fresh figures: the template is still APPROVED, the plan's
    quota and the number's messaging limit leave room for every pending recipient. Raises
    CampaignRefusedError (nothing sent; `reasons`), CampaignStateError (draft: plan it first;
    paused: resume it; completed/cancelled), TemplateNotSendableError.
    """
    campaign = _locked(campaign_id)
    if campaign.state in (State.RUNNING, State.SCHEDULED):
        return campaign
    if campaign.state != State.PLANNED:
        hint = {State.DRAFT: "plan it first", State.PAUSED: "resume it"}.get(campaign.state, "")
        raise CampaignStateError(
            f"A {campaign.state} campaign cannot be started" + (f": {hint}." if hint else ".")
        )
    number = _number(campaign)
    if number is None:
        raise CampaignRefusedError("The sending number is gone.", reasons=["no sending number"])
    template_for_send(
        waba_id=number.waba_id, name=campaign.template_name, language=campaign.template_language
    )
    organization = current_organization()
    pending = CampaignRecipient.objects.filter(campaign=campaign, state=RState.PENDING).count()
    quota = {
        "outbound_messages": quota_headroom(
            organization_id=organization.pk, limit="outbound_messages_per_month"
        ),
        "campaigns": quota_headroom(organization_id=organization.pk, limit="campaigns_per_month"),
    }
    blockers = plan_blockers(
        recipients=pending, quota=quota, messaging_limit=_messaging_limit(number)
    )
    if blockers:
        campaign.plan = {**campaign.plan, "blockers": blockers, "quota": quota}
        campaign.save(update_fields=["plan", "updated_at"])
        error = CampaignRefusedError("The campaign cannot start: " + " ".join(blockers),
                                     reasons=blockers)  # fmt: skip
        error.fields = {"plan": blockers}
        raise error
    # Counted in the plan's campaigns per month, in this transaction (raises QuotaExceeded:
    # nothing started, nothing counted).
    quota_use(organization_id=organization.pk, limit="campaigns_per_month")
    now = timezone.now()
    campaign.started_at = now
    if campaign.scheduled_at and campaign.scheduled_at > now:
        campaign.state = State.SCHEDULED
        delay = (campaign.scheduled_at - now).total_seconds()
        _dispatch_soon(campaign, countdown=delay if delay < 3600 else None)
    else:
        campaign.state = State.RUNNING
        _dispatch_soon(campaign)
    campaign.save()
    logger.info("campaign started: id=%s pending=%s state=%s", campaign.pk, pending, campaign.state)
    return campaign


def _held(
    campaign: Campaign, *, assignments: str, values: list, condition: str, bound: datetime
) -> list[int]:
    """UPDATE the campaign's never-tried `queued` messages matching `condition` (over the
    bound `%(bound)s`) with `assignments` (over `values`); returns their ids."""
    recipients = CampaignRecipient._meta.db_table
    messages = WhatsAppMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {messages} m SET {assignments}, updated_at = now() FROM {recipients} r "  # noqa: S608 - our tables and fixed SQL
            "WHERE r.campaign_id = %s AND r.message_id = m.id AND m.status = %s "
            f"AND m.attempts = 0 AND {condition} RETURNING m.id",
            [*values, campaign.pk, MStatus.QUEUED, bound],
        )
        return [row[0] for row in cursor.fetchall()]


def _hold_unsent(campaign: Campaign) -> int:
    """Hold the campaign's messages still `queued` and never tried (their `next_attempt_at`
    far ahead: no sender loads them, the sweeper never finds them due). A sending task that
    loaded one before may still claim it (`UPDATE ... WHERE status = 'queued'`) and send it:
    a message is held or sent, never both, and nothing waits beyond the sends in hand."""
    held = _held(
        campaign,
        assignments="next_attempt_at = %s",
        values=[HOLD_UNTIL],
        condition="(m.next_attempt_at IS NULL OR m.next_attempt_at < %s)",
        bound=HOLD_UNTIL,
    )
    return len(held)


def _release_held(campaign: Campaign) -> None:
    ids = _held(
        campaign,
        assignments="next_attempt_at = NULL",
        values=[],
        condition="m.next_attempt_at >= %s",
        bound=HOLD_UNTIL,
    )
    messages_enqueue(message_ids=ids)


def _fail_held(campaign: Campaign) -> None:
    _held(
        campaign,
        assignments="status = %s, failure_reason = %s, failed_at = now(), "
        "next_attempt_at = NULL, error_message = %s",
        values=[
            MStatus.FAILED,
            "campaign_cancelled",
            "The campaign was cancelled before this message was sent.",
        ],
        condition="m.next_attempt_at >= %s",
        bound=HOLD_UNTIL,
    )


def _pause(campaign: Campaign, *, reason: str, detail: str) -> None:
    campaign.state = State.PAUSED
    campaign.pause_reason = reason
    campaign.pause_detail = detail
    held = _hold_unsent(campaign)
    campaign.save()
    logger.info("campaign paused: id=%s reason=%s held=%s", campaign.pk, reason, held)


@transaction.atomic
def campaign_pause(*, campaign_id: int, reason: str = "", detail: str = "") -> Campaign:
    """Pause now: nothing more is queued, and what is queued but not yet claimed by a sender is
    withdrawn. Idempotent (a paused campaign is returned unchanged). Raises
    CampaignStateError for a campaign that is not running or scheduled."""
    campaign = _locked(campaign_id)
    if campaign.state == State.PAUSED:
        return campaign
    if campaign.state not in (State.RUNNING, State.SCHEDULED):
        raise CampaignStateError(f"A {campaign.state} campaign cannot be paused.")
    _pause(campaign, reason=reason, detail=detail or "Paused by a member of the team.")
    return campaign


@transaction.atomic
def campaign_resume(*, campaign_id: int, only_reasons: Iterable[str] | None = None) -> Campaign:
    """Continue where it stopped (pending recipients only). Idempotent for a running or
    scheduled campaign. `only_reasons`: resume only if it was paused for one of these (the
    template hook resumes what a template pause stopped, not what a person paused). Raises
    CampaignStateError for a campaign that was never started or is over."""
    campaign = _locked(campaign_id)
    if campaign.state in (State.RUNNING, State.SCHEDULED):
        return campaign
    if campaign.state != State.PAUSED:
        raise CampaignStateError(f"A {campaign.state} campaign cannot be resumed.")
    if only_reasons is not None and campaign.pause_reason not in set(only_reasons):
        return campaign
    now = timezone.now()
    future = campaign.scheduled_at and campaign.scheduled_at > now
    campaign.state = State.SCHEDULED if future else State.RUNNING
    campaign.pause_reason = campaign.pause_detail = ""
    campaign.dispatched_at = None
    campaign.resumed_at = now
    campaign.save()
    _release_held(campaign)
    _dispatch_soon(campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign_id: int) -> Campaign:
    """Stop for good: unsent messages withdrawn, pending recipients `skipped` (`cancelled`).
    Idempotent. Raises CampaignStateError for a completed campaign."""
    campaign = _locked(campaign_id)
    if campaign.state == State.CANCELLED:
        return campaign
    if campaign.state == State.COMPLETED:
        raise CampaignStateError("A completed campaign cannot be cancelled.")
    _hold_unsent(campaign)
    _fail_held(campaign)
    CampaignRecipient.objects.filter(campaign=campaign, state=RState.PENDING).update(
        state=RState.SKIPPED, skip_reason="cancelled"
    )
    campaign.state = State.CANCELLED
    campaign.cancelled_at = timezone.now()
    campaign.save()
    return campaign


@transaction.atomic
def campaign_retry(
    *,
    campaign_id: int,
    codes: Iterable[int] | None = None,
    reasons: Iterable[str] | None = None,
    claimed_before: datetime | None = None,
) -> int:
    """Send again to the recipients whose message failed (only those with one of Meta's
    `codes`, or one of our failure `reasons` such as `send_unconfirmed`, if given; a send
    left unconfirmed may have reached the user, so it is retried only when asked): each gets
    a new attempt (a new idempotency key), the campaign runs again if it had completed.
    `claimed_before`: only sends made before that time.
    Returns how many recipients were reset (0 for a scheduled campaign: nothing sent yet).
    Raises CampaignStateError unless running, scheduled, paused or completed."""
    campaign = _locked(campaign_id)
    if campaign.state == State.SCHEDULED:
        return 0
    if campaign.state not in (State.RUNNING, State.PAUSED, State.COMPLETED):
        raise CampaignStateError(f"A {campaign.state} campaign has nothing to retry.")
    failed = CampaignRecipient.objects.filter(
        campaign=campaign, state=RState.QUEUED, message__status=MStatus.FAILED
    )
    codes, reasons = list(codes or []), list(reasons or [])
    if codes or reasons:
        failed = failed.filter(
            Q(message__error_code__in=codes) | Q(message__failure_reason__in=reasons)
        )
    if claimed_before is not None:
        failed = failed.filter(message__last_attempt_at__lt=claimed_before)
    ids = list(failed.values_list("pk", flat=True))
    if not ids:
        return 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        CampaignRecipient.objects.filter(pk__in=chunk).update(
            state=RState.PENDING, message=None, dispatched_at=None, attempt=F("attempt") + 1
        )
    if campaign.state == State.COMPLETED:
        campaign.state = State.RUNNING
        campaign.completed_at = None
        campaign.dispatched_at = None
        campaign.save()
        _dispatch_soon(campaign)
    return len(ids)


def _in_flight(campaign: Campaign, now) -> int:
    """The campaign's messages the senders still have to do (queued and due, or sending
    recently); a `sending` row older than a minute is left to the sweeper's verdict."""
    return (
        WhatsAppMessage.objects.filter(idempotency_key__startswith=idempotency_prefix(campaign.pk))
        .filter(
            Q(status=MStatus.QUEUED, next_attempt_at__isnull=True)
            | Q(status=MStatus.QUEUED, next_attempt_at__lte=now)
            | Q(status=MStatus.SENDING, last_attempt_at__gte=now - timedelta(minutes=1))
        )
        .count()
    )


def _requeue_lost(campaign: Campaign, now) -> None:
    """Queued messages untouched for 30 s lost their task (a worker killed with it in hand):
    enqueue them again (the claim is conditional, so a live duplicate task is harmless).
    Claimed messages whose request a killed worker never wrote go back to the queue too
    (`messages_reclaim_unposted`: the wire fence keeps that from sending anything twice)."""
    messages_reclaim_unposted(
        older_than=timedelta(seconds=settings.WHATSAPP_SEND_RECLAIM_AFTER),
        idempotency_prefix=idempotency_prefix(campaign.pk),
    )
    stale = list(
        WhatsAppMessage.objects.filter(
            idempotency_key__startswith=idempotency_prefix(campaign.pk),
            status=MStatus.QUEUED,
            next_attempt_at__isnull=True,
            updated_at__lt=now - timedelta(seconds=30),
        ).values_list("pk", flat=True)[:5000]
    )
    if stale:
        messages_enqueue(message_ids=stale)


def _health(campaign: Campaign, number: PhoneNumber) -> tuple[str, str] | None:
    """(reason, detail) when the campaign must pause itself, else None."""
    template = template_of(campaign, number=number)
    if template is None or template.deleted_at_meta:
        return "template_unavailable", "The template is no longer stored for this number."
    if template.status == "PAUSED":
        return "template_paused", f"Meta paused the template {template.name} for low quality."
    if template.status == "DISABLED":
        return "template_disabled", f"Meta disabled the template {template.name}."
    if template.status not in ("APPROVED", "REINSTATED"):
        return "template_unavailable", f"The template's status is {template.status}."
    if (number.quality_rating or "").upper() == "RED":
        return "quality_red", "The number's quality rating dropped to RED (low)."
    since = campaign.resumed_at or campaign.started_at or campaign.created_at
    answers = list(
        CampaignRecipient.objects.filter(
            campaign=campaign, state=RState.QUEUED, message__updated_at__gte=since
        )
        .order_by("-id")
        .values_list("message__error_code", "message__last_attempt_at")[:SPIKE_WINDOW]
    )
    recent = [code for code, _ in answers]
    for code, reason in TEMPLATE_CODES.items():
        # Only a refusal of a send made since the template's last change says it is paused
        # now: an answer settled late may be about the state Meta has since left (UNPAUSE,
        # REINSTATED); `_retry_template_refusals` sends those again.
        if any(c == code and at and at >= template.updated_at for c, at in answers):
            return reason, f"Meta refused sends with {code} (template paused or disabled)."
    for code, reason in SPIKE_CODES.items():
        hits = recent.count(code)
        if hits >= SPIKE_MIN and hits >= SPIKE_SHARE * len(recent):
            return reason, (
                f"{hits} of the last {len(recent)} messages were refused with {code} "
                "(Meta's per-user marketing limit)" if code == 131049 else
                f"{hits} of the last {len(recent)} messages were refused with {code} "
                "(Meta's spam rate limit)"
            )  # fmt: skip
    return None


def _retry_template_refusals(campaign: Campaign, number: PhoneNumber) -> None:
    """Recipients Meta refused with 132015/132016 for a send made before the (now APPROVED)
    template last changed go again: the template's pause, not the recipient, failed them
    (the status hook retries those it finds; a refusal settled after it is found here)."""
    template = template_of(campaign, number=number)
    if template is not None and template.status == "APPROVED":
        campaign_retry(
            campaign_id=campaign.pk, codes=list(TEMPLATE_CODES), claimed_before=template.updated_at
        )


def _content(campaign: Campaign, template, variables: dict) -> dict:
    extras = campaign.template_extras or {}
    shape = template_shape(template.components, template.parameter_format)
    parameters = (
        {v: variables.get(v, "") for v in shape.variables}
        if shape.named
        else [variables.get(v, "") for v in shape.variables]
    )
    components = components_build(
        components=template.components,
        parameter_format=template.parameter_format,
        parameters=parameters or None,
        header=extras.get("header"),
        buttons=extras.get("buttons"),
    )
    built = {"name": template.name, "language": {"code": template.language}}
    if components:
        built["components"] = components
    return built


def _opted_out_since_plan(campaign: Campaign, batch: list[CampaignRecipient]) -> set[int]:
    """Contacts of a MARKETING campaign's batch who opted out of marketing since it was
    planned (the plan excluded those who had already): they get no marketing either."""
    if campaign.template_category != MARKETING:
        return set()
    ids = [r.contact_id for r in batch if r.contact_id is not None]
    return set(
        Contact.objects.filter(pk__in=ids, opted_out_at__isnull=False).values_list("pk", flat=True)
    )


def _feed(campaign: Campaign, template, count: int, now) -> int:
    """Queue the next `count` pending recipients (one transaction: messages and links)."""
    batch = list(
        CampaignRecipient.objects.filter(campaign=campaign, state=RState.PENDING).order_by("id")[
            :count
        ]
    )
    if not batch:
        return 0
    messages, ready, skipped = [], [], []
    opted_out = _opted_out_since_plan(campaign, batch)
    for recipient in batch:
        if recipient.contact_id is None or recipient.contact_id in opted_out:
            reason = "contact_removed" if recipient.contact_id is None else "opted_out"
            recipient.state, recipient.skip_reason = RState.SKIPPED, reason
            skipped.append(recipient)
            continue
        try:
            content = _content(campaign, template, recipient.variables or {})
        except ParameterError:
            recipient.state, recipient.skip_reason = RState.SKIPPED, "invalid_parameters"
            skipped.append(recipient)
            continue
        messages.append(
            {
                "contact_id": recipient.contact_id,
                "recipient": recipient.address,
                "phone_number_id": campaign.phone_number_id,
                "type": "template",
                "content": content,
                "idempotency_key": recipient.idempotency_key,
            }
        )
        ready.append(recipient)
    messages_bulk_create(messages=messages)
    ids = dict(
        WhatsAppMessage.objects.filter(
            idempotency_key__in=[r.idempotency_key for r in ready]
        ).values_list("idempotency_key", "id")
    )
    for recipient in ready:
        recipient.state = RState.QUEUED
        recipient.message_id = ids[recipient.idempotency_key]
        recipient.dispatched_at = now
    CampaignRecipient.objects.bulk_update(
        ready + skipped, ["state", "skip_reason", "message", "dispatched_at"], batch_size=1000
    )
    return len(ready)


@transaction.atomic
def campaign_dispatch(*, campaign_id: int) -> str:
    """One dispatcher tick (the task calls it every CAMPAIGN_TICK_SECONDS while the campaign
    runs): start a due scheduled campaign, pause it if its health says so, queue what the
    pace allows, complete it when nothing is left. Returns an outcome string. A second
    dispatcher chain finds the last tick too recent and ends."""
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        return "gone"
    now = timezone.now()
    if campaign.state == State.SCHEDULED:
        if campaign.scheduled_at and campaign.scheduled_at > now:
            wait = (campaign.scheduled_at - now).total_seconds()
            return "scheduled" if wait >= 3600 else _later(campaign, now, countdown=wait)
        # Saved now: the services this tick calls (retry) read the campaign again.
        campaign.state = State.RUNNING
        campaign.save(update_fields=["state", "updated_at"])
        campaign.dispatched_at = None  # its first running tick, however recent the waiting one
    if campaign.state != State.RUNNING:
        return campaign.state
    if campaign.dispatched_at and (now - campaign.dispatched_at).total_seconds() < _tick() / 2:
        return "too soon"
    number = _number(campaign)
    if number is None:
        _pause(campaign, reason="no_number", detail="The sending number is no longer connected.")
        return "paused: no_number"
    problem = _health(campaign, number)
    if problem is not None:
        _pause(campaign, reason=problem[0], detail=problem[1])
        return f"paused: {problem[0]}"
    _retry_template_refusals(campaign, number)
    sharing = Campaign.objects.filter(
        state=State.RUNNING, phone_number_id=campaign.phone_number_id
    ).count()
    rate = campaign_rate(campaign=campaign, number=number, sharing=sharing)
    in_flight = _in_flight(campaign, now)
    want = math.ceil(rate * _lookahead()) - in_flight
    if campaign.rate_per_second and campaign.rate_per_second <= rate:
        want = min(want, _paced_allowance(campaign, now))
    fed = 0
    if want > 0:
        template = template_of(campaign, number=number)
        fed = _feed(campaign, template, want, now)
    _requeue_lost(campaign, now)
    if (
        fed == 0
        and in_flight == 0
        and not CampaignRecipient.objects.filter(campaign=campaign, state=RState.PENDING).exists()
    ):
        campaign.state = State.COMPLETED
        campaign.completed_at = now
        campaign.dispatched_at = now
        campaign.save()
        _report(campaign, now)
        return "completed"
    return _later(campaign, now, countdown=_tick(), note=f"fed {fed}, in flight {in_flight}")


def _paced_allowance(campaign: Campaign, now) -> int:
    """Recipients a campaign capped by its own `rate_per_second` may dispatch now: what that
    rate allows since it last (re)started, one second ahead, less what it dispatched since,
    and at most one tick's worth (a late first tick does not send its backlog at once). The
    queue is sent as fast as the number allows, so below the number's rate the feed itself
    must keep the pace."""
    starts = (campaign.started_at, campaign.resumed_at, campaign.scheduled_at)
    since = max((t for t in starts if t and t <= now), default=now)
    rate = campaign.rate_per_second
    allowed = math.ceil(rate * ((now - since).total_seconds() + 1.0))
    done = CampaignRecipient.objects.filter(campaign=campaign, dispatched_at__gte=since).count()
    return min(allowed - done, math.ceil(rate * _tick()))


def _report(campaign: Campaign, now) -> None:
    """The campaign's counts by state on the `whatsapp_campaign_progress` gauge (every 5 s of
    ticks, and when it ends): `campaign` is `<schema>:<id>`."""
    if int(now.timestamp()) % 5 and campaign.state == State.RUNNING:
        return
    label = f"{connection.schema_name}:{campaign.pk}"
    for state, count in campaign_counts(campaign_id=campaign.pk).items():
        CAMPAIGN_PROGRESS.labels(campaign=label, state=state).set(count)


def _later(campaign: Campaign, now, *, countdown: float, note: str = "") -> str:
    _report(campaign, now)
    campaign.dispatched_at = now
    campaign.save()
    _dispatch_soon(campaign, countdown=countdown)
    return note or f"next in {countdown:.0f}s"


def campaigns_watch() -> int:
    """Kick the dispatcher of every running campaign whose last tick is older than
    `CAMPAIGN_STALL_SECONDS` (its chain was lost) and of every scheduled campaign now due.
    Returns how many were kicked (beat calls it per organization)."""
    now = timezone.now()
    stall = timedelta(seconds=float(getattr(settings, "CAMPAIGN_STALL_SECONDS", 15.0)))
    due = Campaign.objects.filter(
        Q(state=State.RUNNING, dispatched_at__lt=now - stall)
        | Q(state=State.RUNNING, dispatched_at__isnull=True)
        | Q(state=State.SCHEDULED, scheduled_at__lte=now)
    ).values_list("pk", flat=True)
    count = 0
    for campaign_id in due:
        enqueue_on_commit(DISPATCH_TASK, args=[campaign_id])
        count += 1
    return count
