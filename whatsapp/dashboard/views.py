"""`/` on an organization's host: the dashboard (members and admins alike)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.webapp.permissions import member_required
from whatsapp.dashboard import selectors


@require_GET
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    organization = request.tenant
    phone_numbers = selectors.numbers(organization=organization)
    token = selectors.credential(organization=organization)
    volume = selectors.daily_volume(organization=organization, days=30)
    charts = {
        f"volume-{days}": {
            "labels": [day.strftime("%b %d") for day in part.days],
            "incoming": list(part.incoming),
            "outgoing": list(part.outgoing),
        }
        for days, part in ((7, volume.last(7)), (30, volume))
    }
    context = {
        "numbers": phone_numbers,
        "token": token,
        "rates": selectors.delivery_rates(windows=(7, 30)),
        "failures": selectors.failures_by_error(days=30),
        "attention": selectors.attention(
            organization=organization, phone_numbers=phone_numbers, token=token
        ),
        "volume_7": volume.last(7),
        "volume_30": volume,
        "charts": charts,
    }
    return render(request, "dashboard/dashboard.html", context)
