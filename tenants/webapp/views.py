"""The organization host's shell pages: sign in, sign out, the sign-in handoff from the public
host and invitation acceptance (each feature's pages live with the feature)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from tenants.errors import HandoffError, TeamError
from tenants.services import team
from tenants.services.handoff import handoff_consume
from tenants.webapp.forms import EmailAuthenticationForm, InvitationAcceptForm


class OrgLoginView(auth_views.LoginView):
    """`/login/` on an organization's host: only its members get in (tenants.auth backend)."""

    template_name = "webapp/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class OrgLogoutView(auth_views.LogoutView):
    """`POST /logout/` (Django refuses GET: a link or image must not sign anyone out)."""

    next_page = "/login/"


@require_GET
def login_handoff(request: HttpRequest) -> HttpResponse:
    """`/login/handoff/?token=...`: the public host's sign-in lands here with a one-time ticket
    (tenants.services.handoff); the session starts on this host only."""
    try:
        user = handoff_consume(token=request.GET.get("token", ""), organization=request.tenant)
    except HandoffError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect("/login/")
    login(request, user, backend="tenants.auth.TenantMembershipBackend")
    return HttpResponseRedirect("/")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """`/invitations/<token>/`: the e-mailed link. A new person chooses a password, someone with
    an account confirms theirs; either way they join with the invited role and are signed in."""
    try:
        invitation = team.invitation_find(organization=request.tenant, token=token)
    except TeamError as exc:
        return render(request, "webapp/invitation_invalid.html", {"error": str(exc)}, status=404)
    existing = team.invitation_user(invitation=invitation) is not None
    form = InvitationAcceptForm(request.POST or None, existing_account=existing)
    if request.method == "POST" and form.is_valid():
        try:
            membership = team.invitation_accept(
                organization=request.tenant, token=token, password=form.cleaned_data["password"]
            )
        except TeamError as exc:
            form.add_error("password", str(exc))
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            login(request, membership.user, backend="tenants.auth.TenantMembershipBackend")
            messages.success(request, f"Welcome to {request.tenant.name}.")
            return HttpResponseRedirect("/")
    context = {"invitation": invitation, "form": form, "existing": existing}
    return render(
        request, "webapp/invitation_accept.html", context, status=400 if form.errors else 200
    )
