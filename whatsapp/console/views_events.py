"""The webhook event log: filter, read a change's error, reveal a body (audited), replay."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_http_methods

from tenants.models import Organization, RawWebhookEvent, WebhookChange
from whatsapp.console.access import staff_required
from whatsapp.console.forms import EventFilterForm, ReasonForm
from whatsapp.console.pages import console_render
from whatsapp.console.selectors_events import (
    EVENT_STATES,
    EventFilter,
    body_redacted,
    change_page,
    change_value_redacted,
    event_page,
    replay_candidates,
    unroutable_numbers,
)
from whatsapp.console.services import event_body_reveal, events_replay
from whatsapp.webhooks.replay import REPLAYABLE_STATES

# A filtered replay takes at most this many changes at once (the dry run says so).
REPLAY_MAX = 5000


def _filter(request: HttpRequest) -> tuple[EventFilterForm, EventFilter, bool]:
    form = EventFilterForm(request.GET or None)
    if not form.is_valid():
        return form, EventFilter(), bool(request.GET)
    data = form.cleaned_data
    org = None
    if data["org"]:
        org = Organization.objects.filter(slug=data["org"].strip().lower()).first()
        if org is None:
            form.add_error("org", "No organization with this slug.")
            return form, EventFilter(), True
    return (
        form,
        EventFilter(
            org=org,
            field=data["field"].strip(),
            phone_number_id=data["phone_number_id"].strip(),
            state=data["state"],
            since=data["since"],
            until=data["until"],
        ),
        False,
    )


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@staff_required
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    form, flt, invalid = _filter(request)
    before = _before(request)
    raw_only = flt.state in EVENT_STATES
    rows = [] if invalid else (event_page(flt, before=before) if raw_only else [])
    changes = [] if invalid or raw_only else change_page(flt, before=before)
    last = (rows or changes)[-1].pk if (rows or changes) else None
    query = request.GET.copy()
    query.pop("before", None)
    return console_render(
        request,
        "console/events.html",
        {
            "form": form,
            "changes": changes,
            "raw_events": rows,
            "raw_only": raw_only,
            "next_before": last if len(rows or changes) >= 50 else None,
            "query": query.urlencode(),
            "replayable": flt.state in REPLAYABLE_STATES or not flt.state,
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    """GET: the event and its changes, the body redacted. POST (reason + confirm): the same
    page with the body revealed, for this response only (audited)."""
    event = get_object_or_404(RawWebhookEvent.objects.defer("body"), pk=event_id)
    changes = list(
        WebhookChange.objects.filter(event=event).select_related("organization").order_by("pk")
    )
    form = ReasonForm(request.POST or None)
    revealed = None
    if request.method == "POST" and form.is_valid():
        revealed = event_body_reveal(
            event=RawWebhookEvent.objects.get(pk=event.pk),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    body = (
        None
        if revealed
        else body_redacted(RawWebhookEvent.objects.values_list("body", flat=True).get(pk=event.pk))
    )
    return console_render(
        request,
        "console/event.html",
        {
            "event": event,
            "changes": [(c, change_value_redacted(c.value)) for c in changes],
            "body": body,
            "revealed": revealed,
            "form": form,
            "replay_form": ReasonForm(),
            "replayable": any(c.state in REPLAYABLE_STATES for c in changes)
            or event.state == RawWebhookEvent.State.FAILED,
        },
        status=400 if form.errors else 200,
    )


@staff_required
@require_http_methods(["POST"])
def event_replay(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(RawWebhookEvent.objects.defer("body"), pk=event_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you replay it and tick the confirmation.")
        return HttpResponseRedirect(f"/console/events/{event.pk}/")
    result = events_replay(
        actor=request.user, reason=form.cleaned_data["reason"], event_id=event.pk
    )
    messages.success(request, _replayed(result))
    return HttpResponseRedirect(f"/console/events/{event.pk}/")


def _replayed(result) -> str:
    return (
        f"Replayed: {result.requeued} change(s) queued, {result.events_requeued} event(s) "
        f"queued, {result.still_unroutable} still unroutable, {result.still_held} still held."
    )


@staff_required
@require_http_methods(["GET", "POST"])
def events_replay_filtered(request: HttpRequest) -> HttpResponse:
    """GET: the dry run (how many replayable changes the filter matches); POST with reason and
    confirmation: replay them (at most REPLAY_MAX, oldest first)."""
    form, flt, invalid = _filter(request)
    if invalid:
        return HttpResponseRedirect("/console/events/")
    candidates = replay_candidates(flt)
    count = candidates.count()
    confirm = ReasonForm(request.POST or None)
    if request.method == "POST" and confirm.is_valid():
        ids = list(candidates.order_by("id").values_list("id", flat=True)[:REPLAY_MAX])
        result = events_replay(
            actor=request.user,
            reason=confirm.cleaned_data["reason"],
            change_ids=ids,
            organization=flt.org,
        )
        messages.success(request, _replayed(result))
        return HttpResponseRedirect(f"/console/events/?{request.GET.urlencode()}")
    return console_render(
        request,
        "console/replay_confirm.html",
        {
            "form": form,
            "confirm": confirm,
            "count": count,
            "limit": REPLAY_MAX,
            "query": request.GET.urlencode(),
        },
        status=400 if confirm.errors else 200,
    )


@staff_required
@require_GET
def unroutable(request: HttpRequest) -> HttpResponse:
    return console_render(
        request,
        "console/unroutable.html",
        {"groups": unroutable_numbers(), "replay_form": ReasonForm()},
    )
