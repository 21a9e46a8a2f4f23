"""The chatbot's settings page and the external bot's delivery log, in the web app.

`/chatbot/settings/`: business hours (ranges per weekday in the organization's time zone, a
range may cross midnight), holidays, welcome/away/fallback texts and their period, menu
session and cancel words, takeover timeout, the reply cap, opt-out words, the external bot's
URL, timeout and secret (write-only: the page says whether one is set, never shows it). Members
read it; admins change it (as the API). `/chatbot/deliveries/`: the log of POSTs to the
external bot, newest first (members).
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from tenants.webapp.permissions import member_required, org_role
from whatsapp.chatbot.api.serializers import ChatbotSettingsSerializer
from whatsapp.chatbot.hours import DAYS
from whatsapp.chatbot.models import ExternalBotDelivery
from whatsapp.chatbot.services import settings_get, settings_update
from whatsapp.chatbot.web.forms import (
    DAY_NAMES,
    FormInputError,
    error_messages,
    settings_data_from_form,
    settings_form_values,
)

DELIVERIES_SHOWN = 100


def _page(
    request: HttpRequest,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    settings = settings_get()
    role = org_role(request)
    context = {
        "values": values,
        "errors": errors or {},
        "days": [(day, DAY_NAMES[day], values.get(f"hours_{day}", "")) for day in DAYS],
        "time_zones": sorted(zoneinfo.available_timezones()),
        "org_time_zone": getattr(request.tenant, "time_zone", "") or "UTC",
        "secret_set": bool(settings.external_bot_secret_encrypted),
        "can_edit": role is not None and role.is_admin,
    }
    return render(request, "chatbot/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def settings_page(request: HttpRequest) -> HttpResponse:
    settings = settings_get()
    if request.method == "GET":
        return _page(request, values=settings_form_values(settings))
    if not org_role(request).is_admin:
        raise PermissionDenied("Only the organization's admins can change the chatbot settings.")
    values = dict(request.POST.items()) | {"enabled": request.POST.get("enabled") == "on"}
    values.pop("external_bot_secret", None)  # never sent back to the browser
    try:
        data = settings_data_from_form(request.POST)
    except FormInputError as exc:
        return _page(request, values=values, errors={exc.field: str(exc)}, status=400)
    serializer = ChatbotSettingsSerializer(settings, data=data, partial=True)
    if not serializer.is_valid():
        return _page(request, values=values, errors=error_messages(serializer.errors), status=400)
    settings_update(settings=settings, data=serializer.validated_data)
    messages.success(request, "Chatbot settings saved.")
    return redirect("/chatbot/settings/")


@require_GET
@member_required
def deliveries_page(request: HttpRequest) -> HttpResponse:
    deliveries = ExternalBotDelivery.objects.select_related("turn__message__contact").order_by(
        "-created_at", "-id"
    )[:DELIVERIES_SHOWN]
    context = {"deliveries": deliveries, "settings": settings_get(), "shown": DELIVERIES_SHOWN}
    return render(request, "chatbot/deliveries.html", context)
