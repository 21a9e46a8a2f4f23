"""Pipeline health (refreshes itself through htmx) and the audit log."""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from tenants.models import AuditEntry
from whatsapp.console.access import staff_required
from whatsapp.console.forms import AuditFilterForm
from whatsapp.console.health import pipeline_health
from whatsapp.console.pages import console_render

REFRESH_SECONDS = 10


@staff_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """The whole page, or (an htmx poll every REFRESH_SECONDS) only its panel."""
    template = "console/_health.html" if request.htmx else "console/health.html"
    return console_render(
        request, template, {"health": pipeline_health(), "refresh": REFRESH_SECONDS}
    )


@staff_required
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["org"]:
            entries = entries.filter(org_slug=data["org"].strip().lower())
        if data["actor"]:
            entries = entries.filter(actor_label__iexact=data["actor"].strip())
        if data["action"]:
            entries = entries.filter(action__startswith=data["action"].strip())
        if data["since"]:
            entries = entries.filter(created_at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(created_at__lt=data["until"] + timedelta(days=1))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return console_render(
        request, "console/audit.html", {"form": form, "page": page, "query": query.urlencode()}
    )
