"""The campaign pages (`/campaigns/`): the list with a form for a new campaign (created and
planned at once: its page then shows the flight plan), and a campaign's page: the flight plan
with Start before it runs; a live progress bar, rate, ETA and failures by reason while it runs
(an htmx fragment polled every few seconds); pause, resume, cancel, retry and the results CSV.
Thin: forms in, one service call, a page or fragment out. Members may use them; another
organization's ids 404 (each organization's campaigns live in its own schema)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing_stub.quota import QuotaExceeded
from tenants.webapp.permissions import member_required
from whatsapp.campaigns.errors import CampaignNotFoundError
from whatsapp.campaigns.models import Campaign
from whatsapp.campaigns.services.execution import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_retry,
    campaign_start,
)
from whatsapp.campaigns.services.planning import campaign_create, campaign_get, campaign_plan
from whatsapp.campaigns.services.progress import (
    campaign_failures,
    campaign_progress,
    campaign_results_csv,
)
from whatsapp.errors import WhatsAppDomainError
from whatsapp.message_templates.models import MessageTemplate

POLL_SECONDS = 2
STATE_BADGE = {
    "running": "ok",
    "completed": "ok",
    "scheduled": "warn",
    "paused": "warn",
    "cancelled": "bad",
}
ACTIONS = {
    "start": campaign_start,
    "pause": campaign_pause,
    "resume": campaign_resume,
    "cancel": campaign_cancel,
}


def _campaign_or_404(campaign_id: int) -> Campaign:
    try:
        return campaign_get(campaign_id=campaign_id)
    except CampaignNotFoundError:
        raise Http404("No such campaign.") from None


def _approved_templates():
    return MessageTemplate.objects.filter(status="APPROVED", deleted_at_meta=False).order_by(
        "name", "language"
    )


def variables_parse(text: str) -> dict[str, dict[str, str]]:
    """The form's variable lines, `name = field:first_name | column:promo | a fixed text`, as the
    API's mapping (a fixed text is the fallback of a CSV column of the variable's name).
    Raises ValueError naming a line without `=`."""
    mapping: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ValueError(f"Variables: write `name = value` (not {line.strip()!r}).")
        if value.startswith("field:"):
            mapping[name] = {"field": value[6:].strip()}
        elif value.startswith("column:"):
            mapping[name] = {"column": value[7:].strip()}
        else:
            mapping[name] = {"column": name, "fallback": value}
    return mapping


def _local(value: str, time_zone: str) -> dt.datetime | None:
    """A `datetime-local` field's value read in the organization's time zone."""
    if not value:
        return None
    naive = dt.datetime.fromisoformat(value)
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(time_zone or "UTC"))


@require_http_methods(["GET", "POST"])
@member_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(Campaign.objects.order_by("-id")[:100])
    rows = [{"campaign": c, "progress": campaign_progress(campaign=c)} for c in campaigns]
    context = {"rows": rows, "templates": _approved_templates(), "badges": STATE_BADGE,
               "values": {}, "error": ""}  # fmt: skip
    if request.method == "GET":
        return render(request, "campaigns/list.html", context)
    form = request.POST
    template_id = form.get("template", "")
    template = (
        _approved_templates().filter(pk=template_id).first() if template_id.isdigit() else None
    )
    upload = request.FILES.get("csv")
    tags = [t.strip() for t in form.get("tags", "").replace(";", ",").split(",") if t.strip()]
    try:
        if template is None:
            raise WhatsAppDomainError("Choose an approved template.", field="template")
        with transaction.atomic():  # a plan refused leaves no draft behind
            campaign = campaign_create(
                name=form.get("name", "").strip() or "Campaign",
                template_name=template.name,
                template_language=template.language,
                audience={"csv": True} if upload else {"tags": tags},
                variables=variables_parse(form.get("variables", "")),
                scheduled_at=_local(form.get("scheduled_at", ""), request.tenant.time_zone),
                rate_per_second=int(form["rate"]) if form.get("rate", "").isdigit() else None,
                created_by_id=request.user.pk,
            )
            campaign_plan(campaign_id=campaign.pk, csv_data=upload.read() if upload else None)
    except (WhatsAppDomainError, QuotaExceeded, ValueError) as exc:
        context |= {"values": form, "error": getattr(exc, "message", str(exc))}
        return render(request, "campaigns/list.html", context, status=400)
    return redirect(f"/campaigns/{campaign.pk}/")


def _detail_context(campaign: Campaign) -> dict:
    progress = campaign_progress(campaign=campaign)
    return {
        "campaign": campaign,
        "plan": campaign.plan or {},
        "progress": progress,
        "failures": campaign_failures(campaign_id=campaign.pk),
        "badge": STATE_BADGE.get(campaign.state, ""),
        "poll": POLL_SECONDS,
        "live": campaign.state in ("running", "scheduled"),
        "percent": round(progress["share_done"] * 100),
    }


@require_GET
@member_required
def campaign_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    return render(request, "campaigns/detail.html", _detail_context(campaign))


@require_GET
@member_required
def campaign_progress_fragment(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The progress card alone (htmx polls it while the campaign runs)."""
    campaign = _campaign_or_404(campaign_id)
    return render(request, "campaigns/_progress.html", _detail_context(campaign))


@require_GET
@member_required
def campaign_results(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    """Every recipient's outcome as CSV (the API's export, with the web session)."""
    campaign = _campaign_or_404(campaign_id)
    response = StreamingHttpResponse(
        campaign_results_csv(campaign_id=campaign.pk), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
    return response


@require_POST
@member_required
def campaign_action(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    _campaign_or_404(campaign_id)
    try:
        if action == "retry":
            reset = campaign_retry(campaign_id=campaign_id)
            messages.success(request, f"{reset} failed recipient(s) will be sent again.")
        elif action in ACTIONS:
            ACTIONS[action](campaign_id=campaign_id)
        else:
            raise Http404("No such action.")
    except WhatsAppDomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"/campaigns/{campaign_id}/")
