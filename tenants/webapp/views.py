"""The organization host's shell pages: sign in, sign out, and placeholders for pages that
other features build (inbox, contacts, numbers) so that the navigation never leads to a 404."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.webapp.forms import EmailAuthenticationForm
from tenants.webapp.permissions import member_required


class OrgLoginView(auth_views.LoginView):
    """`/login/` on an organization's host: only its members get in (tenants.auth backend)."""

    template_name = "webapp/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class OrgLogoutView(auth_views.LogoutView):
    """`POST /logout/` (Django refuses GET: a link or image must not sign anyone out)."""

    next_page = "/login/"


PLACEHOLDERS = {
    "inbox": ("Inbox", "Conversations with your customers will appear here."),
    "contacts": ("Contacts", "The people who wrote to your numbers will be listed here."),
    "numbers": ("Numbers", "Connect a WhatsApp number and check its health here."),
}


@require_GET
@member_required
def placeholder(request: HttpRequest, page: str) -> HttpResponse:
    """A page of the navigation that its feature has not built yet."""
    title, text = PLACEHOLDERS[page]
    return render(request, "webapp/placeholder.html", {"title": title, "text": text})
