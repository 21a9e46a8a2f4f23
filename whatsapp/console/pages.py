"""The console's layout context: its navigation, in the web app's look (frontend_templates)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NAV: tuple[tuple[str, str], ...] = (
    ("/console/tenants/", "Tenants"),
    ("/console/events/", "Webhook events"),
    ("/console/health/", "Pipeline health"),
    ("/console/audit/", "Audit log"),
)


def console_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    nav = [
        {"path": path, "label": label, "active": request.path.startswith(path)}
        for path, label in NAV
    ]
    return render(
        request,
        template,
        {
            **context,
            "app_nav": nav,
        },
        status=status,
    )
