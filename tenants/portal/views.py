"""The portal on the public host: the landing page, and signup (an organization creates itself
in one form)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from tenants.errors import OnboardingError
from tenants.portal.forms import SignupForm
from tenants.services.onboarding import organization_create, tenant_host


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """`/` on the public host: what the product is, sign up, sign in."""
    return render(request, "portal/landing.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organization_create(**form.cleaned_data)
        except OnboardingError as exc:
            form.add_error(None, str(exc))
        else:
            port = request.get_port()
            host = tenant_host(organization.slug)
            if port not in ("80", "443"):
                host = f"{host}:{port}"
            context = {"organization": organization, "host": host, "scheme": request.scheme}
            return render(request, "portal/signup_done.html", context, status=201)
    return render(request, "portal/signup.html", {"form": form}, status=400 if form.errors else 200)
