"""Signing in on the public host: find the person's organizations and send them to their
organization's host with a one-time handoff ticket (one organization: straight there; several:
a chooser). Password reset by e-mail uses Django's views (urls.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tenants.portal.forms import PortalLoginForm
from tenants.services.handoff import handoff_create, user_organizations
from tenants.webapp.hosts import org_origin


def handoff_url(request: HttpRequest, *, user, organization) -> str:
    """The organization host's address that signs `user` in there (a fresh one-time ticket)."""
    token = handoff_create(user=user, organization=organization)
    query = urlencode({"token": token})
    return f"{org_origin(request, organization.slug)}/login/handoff/?{query}"


@require_http_methods(["GET", "POST"])
def portal_login(request: HttpRequest) -> HttpResponse:
    """`/login/` on the public host."""
    form = PortalLoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        organizations = list(user_organizations(user=user))
        if not organizations and user.is_staff:
            # Platform staff work on the public host (admin, console).
            login(request, user)
            return HttpResponseRedirect("/admin/")
        if len(organizations) == 1:
            return HttpResponseRedirect(
                handoff_url(request, user=user, organization=organizations[0])
            )
        choices = [
            (organization, handoff_url(request, user=user, organization=organization))
            for organization in organizations
        ]
        return render(request, "portal/choose_organization.html", {"choices": choices})
    status = 400 if form.errors else 200
    return render(request, "portal/login.html", {"form": form}, status=status)
