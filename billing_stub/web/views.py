"""`/usage/` on an organization's host: the plan, each limit's use, messages per day (chart),
Meta's estimated charges, and (admins) the invoices. HTML over the billing selectors only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from billing_stub import selectors
from tenants.webapp.permissions import member_required, org_role


@require_GET
@member_required
def usage_page(request: HttpRequest) -> HttpResponse:
    organization = request.tenant
    summary = selectors.usage_summary(organization=organization)
    role = org_role(request)
    charts = {
        "usage-daily": {
            "labels": [day.strftime("%b %d") for day in summary.days],
            "incoming": list(summary.series["inbound_messages"]),
            "outgoing": list(summary.series["outbound_messages"]),
        }
    }
    rows = [
        {"day": day, "incoming": incoming, "outgoing": outgoing}
        for day, incoming, outgoing in zip(
            summary.days,
            summary.series["inbound_messages"],
            summary.series["outbound_messages"],
            strict=True,
        )
    ]
    invoices = (
        list(selectors.invoice_list(organization=organization)[:12])
        if role is not None and role.is_admin
        else None
    )
    context = {
        "summary": summary,
        "plan": summary.subscription.plan,
        "charts": charts,
        "rows": rows,
        "invoices": invoices,
    }
    return render(request, "billing/usage.html", context)
