"""`/settings/` on an organization's host (admins only): the team and its invitations, API
keys, time zone and business hours. Each action is a POST of its own that calls one service and
comes back to the page; everything is scoped to the host's organization (`request.tenant`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from tenants.api_keys import ApiKeyNotFoundError, api_key_create, api_key_list, api_key_revoke
from tenants.errors import PlanLimitError, TeamError
from tenants.services import team
from tenants.services.schedule import ScheduleError, schedule_get, schedule_set
from tenants.webapp.forms import ApiKeyForm, InvitationForm, RoleForm, ScheduleForm
from tenants.webapp.hosts import org_origin
from tenants.webapp.permissions import admin_required


def _page(request: HttpRequest, status: int = 200, **forms: Any) -> HttpResponse:
    organization = request.tenant
    members = list(team.member_list(organization=organization))
    context = {
        "members": [(m, RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in members],
        "invitations": team.invitation_list_open(organization=organization),
        "invitation_form": forms.get("invitation_form") or InvitationForm(),
        "api_keys": api_key_list(organization=organization),
        "api_key_form": forms.get("api_key_form") or ApiKeyForm(),
        "new_key": forms.get("new_key"),
        "schedule_form": forms.get("schedule_form")
        or ScheduleForm(
            initial=ScheduleForm.initial_for(
                time_zone=organization.time_zone,
                intervals=schedule_get(organization=organization),
            )
        ),
    }
    return render(request, "webapp/settings.html", context, status=status)


def _back(section: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"/settings/#{section}")


@require_GET
@admin_required
def settings_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@admin_required
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST, prefix=f"m{membership_id}")
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return _back("team")
    return _act(
        request,
        lambda: team.member_set_role(
            organization=request.tenant,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
        ),
        done="Role changed.",
        section="team",
    )


def _act(request: HttpRequest, action: Any, *, done: str, section: str) -> HttpResponse:
    """Run one service call; its domain error or `done` is shown on the page's `section`."""
    try:
        action()
    except (TeamError, ApiKeyNotFoundError) as exc:
        messages.error(request, str(exc) if isinstance(exc, TeamError) else "No such API key.")
    else:
        messages.success(request, done)
    return _back(section)


@require_POST
@admin_required
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: team.member_remove(organization=request.tenant, membership_id=membership_id),
        done="Member removed.",
        section="team",
    )


@require_POST
@admin_required
def invitation_create(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            sent = team.invitation_create(
                organization=request.tenant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                accept_url=org_origin(request, request.tenant.slug) + "/invitations/{token}/",
            )
        except (TeamError, PlanLimitError) as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"Invitation sent to {sent.invitation.email}.")
            return _back("invitations")
    return _page(request, status=400, invitation_form=form)


@require_POST
@admin_required
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: team.invitation_revoke(organization=request.tenant, invitation_id=invitation_id),
        done="Invitation revoked.",
        section="invitations",
    )


@require_POST
@admin_required
def api_key_new(request: HttpRequest) -> HttpResponse:
    """Creates a key and shows it in this response only (it is never stored or shown again)."""
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, api_key_form=form)
    api_key, key = api_key_create(
        organization=request.tenant, name=form.cleaned_data["name"], created_by=request.user
    )
    response = _page(request, new_key={"row": api_key, "key": key})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@admin_required
def api_key_remove(request: HttpRequest, api_key_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: api_key_revoke(organization=request.tenant, api_key_id=api_key_id),
        done="API key revoked.",
        section="api-keys",
    )


@require_POST
@admin_required
def schedule_save(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedule_set(
                organization=request.tenant,
                time_zone=form.cleaned_data["time_zone"],
                intervals=form.intervals(),
            )
        except (ScheduleError, ValidationError) as exc:
            form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, "Time zone and business hours saved.")
            return _back("hours")
    return _page(request, status=400, schedule_form=form)
