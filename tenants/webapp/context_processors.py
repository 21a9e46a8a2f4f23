"""What every page's layout needs: the host's organization, the app navigation, the role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.webapp.hosts import public_origin
from tenants.webapp.permissions import org_role

# The app's stable paths (other features link here); `admin_only` items are hidden from agents.
APP_NAV: tuple[tuple[str, str, bool], ...] = (
    ("/", "Dashboard", False),
    ("/inbox/", "Inbox", False),
    ("/contacts/", "Contacts", False),
    ("/numbers/", "Numbers", True),
    ("/chatbot/", "Chatbot", False),
    ("/templates/", "Templates", False),
    ("/campaigns/", "Campaigns", False),
    ("/usage/", "Usage", False),
    ("/settings/", "Settings", True),
)


def webapp(request: HttpRequest) -> dict[str, Any]:
    """`org` (None on the public host), `org_role` ("Admin"/"Agent" or None), `app_nav`
    (list of {path, label, active}; empty unless a member is signed in on an org host) and
    `public_origin` (the public host's scheme://host[:port], for links such as password reset)."""
    tenant = getattr(request, "tenant", None)
    common = {"public_origin": public_origin(request)}
    if tenant is None or getattr(tenant, "is_public", True):
        return {**common, "org": None, "org_role": None, "app_nav": []}
    role = org_role(request)
    if role is None:
        return {**common, "org": tenant, "org_role": None, "app_nav": []}
    path = request.path
    nav = [
        {
            "path": item_path,
            "label": label,
            "active": path == "/" if item_path == "/" else path.startswith(item_path),
        }
        for item_path, label, admin_only in APP_NAV
        if not admin_only or role.is_admin
    ]
    return {**common, "org": tenant, "org_role": role.label, "app_nav": nav}
