"""Signing in to the console: email and password (staff only), then the TOTP code."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from tenants.services.audit import audit_record
from tenants.webapp.forms import EmailAuthenticationForm
from whatsapp.console.access import (
    LOGIN_PATH,
    VERIFY_PATH,
    is_console_staff,
    second_factor_needed,
)
from whatsapp.console.forms import TotpForm

HOME = "/console/"


def _next(request: HttpRequest) -> str:
    """Where to go after signing in: a console path only (never another host or page)."""
    target = request.POST.get("next") or request.GET.get("next") or HOME
    if not target.startswith(HOME) or target.startswith("//") or "\\" in target:
        return HOME
    return target


@require_http_methods(["GET", "POST"])
def console_login(request: HttpRequest) -> HttpResponse:
    """`/console/login/`: the password step. The backend accepts only staff on the public host
    (tenants.auth), so an organization's admin gets the same answer as a wrong password."""
    if is_console_staff(request):
        return HttpResponseRedirect(_next(request))
    form = EmailAuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        login(request, user)
        if second_factor_needed(user):
            return HttpResponseRedirect(f"{VERIFY_PATH}?next={_next(request)}")
        audit_record(actor=user, action="console.signed_in", details={"second_factor": False})
        return HttpResponseRedirect(_next(request))
    status = 400 if form.errors else 200
    return render(
        request, "console/login.html", {"form": form, "next": _next(request)}, status=status
    )


@require_http_methods(["GET", "POST"])
def console_verify(request: HttpRequest) -> HttpResponse:
    """`/console/verify/`: the TOTP step, for staff who passed the password step."""
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return HttpResponseRedirect(LOGIN_PATH)
    if is_console_staff(request) and getattr(user, "is_verified", lambda: False)():
        return HttpResponseRedirect(_next(request))
    enrolled = user_has_device(user, confirmed=True)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and enrolled and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            audit_record(actor=user, action="console.signed_in", details={"second_factor": True})
            return HttpResponseRedirect(_next(request))
        form.add_error("token", "That code is not valid (or was already used). Try the next one.")
    status = 400 if form.errors else 200
    return render(
        request,
        "console/verify.html",
        {"form": form, "enrolled": enrolled, "next": _next(request)},
        status=status,
    )


@require_POST
def console_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(LOGIN_PATH)
