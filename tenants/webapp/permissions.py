"""Who may open which page of the organization's web app: members sign in, admins manage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.models import Membership


@dataclass(frozen=True)
class OrgRole:
    """The signed-in person's role in the host's organization."""

    value: str

    @property
    def is_admin(self) -> bool:
        return self.value == Membership.Role.ADMIN

    @property
    def label(self) -> str:
        return Membership.Role(self.value).label


_CACHE_ATTR = "_webapp_org_role"


def org_role(request: HttpRequest) -> OrgRole | None:
    """The role of `request.user` in `request.tenant` (one query per request, then cached);
    None when nobody is signed in or the person is not a member."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    role = None
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    if user is not None and user.is_authenticated and tenant is not None:
        value = (
            Membership.objects.filter(user=user, organization=tenant)
            .values_list("role", flat=True)
            .first()
        )
        role = OrgRole(value) if value else None
    setattr(request, _CACHE_ATTR, role)
    return role


View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """Members of the host's organization only; anyone else is sent to the host's /login/."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if org_role(request) is None:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    """Admins of the host's organization only: an agent gets 403, a stranger the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        role = org_role(request)
        if role is None:
            return redirect_to_login(request.get_full_path())
        if not role.is_admin:
            raise PermissionDenied("Only the organization's admins can open this page.")
        return view(request, *args, **kwargs)

    return wrapper
