"""Who may use the console: signed-in staff on the public host who passed the second factor.

Everyone else learns nothing from a console URL: an anonymous GET is sent to the console's
sign-in page, any other request by someone who is not verified staff gets the same bare 403
page (no organization, no count, no error detail), whatever the URL names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django_otp import user_has_device

LOGIN_PATH = "/console/login/"
VERIFY_PATH = "/console/verify/"


def second_factor_needed(user: Any) -> bool:
    """Whether `user` must pass a TOTP check: always when CONSOLE_OTP_REQUIRED (DEBUG off),
    otherwise once they have a confirmed device."""
    return bool(settings.CONSOLE_OTP_REQUIRED) or user_has_device(user, confirmed=True)


def is_console_staff(request: HttpRequest) -> bool:
    """Signed-in, active staff whose session passed the second factor when one is needed."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return not second_factor_needed(user) or bool(getattr(user, "is_verified", lambda: False)())


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "console/forbidden.html", status=403)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Console views: verified staff only (module docstring)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_console_staff(request):
            return view(request, *args, **kwargs)
        user = request.user
        if request.method == "GET" and not user.is_authenticated:
            return HttpResponseRedirect(f"{LOGIN_PATH}?{urlencode({'next': request.path})}")
        if request.method == "GET" and user.is_staff and user.is_active:
            return HttpResponseRedirect(f"{VERIFY_PATH}?{urlencode({'next': request.path})}")
        return forbidden(request)

    return wrapped
