"""Tenants: the list, one tenant's page, suspend / reactivate, token refresh, number check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing_stub.errors import BillingError
from billing_stub.selectors import invoice_list, usage_summary
from billing_stub.services.subscriptions import subscription_change_plan
from tenants.errors import OffboardingError, OnboardingError, SuspensionError
from tenants.models import Organization, OrganizationDeletion, PhoneNumber
from tenants.services.offboarding import organization_delete, organization_delete_cancel
from whatsapp.console.access import staff_required
from whatsapp.console.forms import (
    CreateOrganizationForm,
    PlanChangeForm,
    ReasonForm,
    SuspendForm,
    TenantFilterForm,
)
from whatsapp.console.pages import console_render
from whatsapp.console.selectors_tenants import tenant_list, tenant_message_counts, tenant_page
from whatsapp.console.services import (
    tenant_create,
    tenant_number_check,
    tenant_reactivate,
    tenant_suspend,
    tenant_token_refresh,
)

PAGE_SIZE = 50


@staff_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/console/tenants/")


@staff_required
@require_GET
def tenants(request: HttpRequest) -> HttpResponse:
    form = TenantFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    organizations = tenant_list(**{k: v for k, v in filters.items() if v not in (None, "")})
    page = Paginator(organizations, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    counts = tenant_message_counts(schemas=[o.schema_name for o in rows])
    query = request.GET.copy()
    query.pop("page", None)
    return console_render(
        request,
        "console/tenants.html",
        {
            "form": form,
            "rows": [(o, counts.get(o.schema_name)) for o in rows],
            "page": page,
            "query": query.urlencode(),
        },
    )


def _organization(slug: str) -> Organization:
    return get_object_or_404(Organization.objects.exclude(schema_name="public"), slug=slug)


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_new(request: HttpRequest) -> HttpResponse:
    """Create an organization (the onboarding service, as signup does)."""
    form = CreateOrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = tenant_create(actor=request.user, **form.cleaned_data)
        except OnboardingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"{organization.name} is ready. Its admin sets a password through "
                "“Forgot your password” on the sign-in page.",
            )
            return HttpResponseRedirect(f"/console/tenants/{organization.slug}/")
    return console_render(
        request, "console/tenant_new.html", {"form": form}, status=400 if form.errors else 200
    )


@staff_required
@require_GET
def tenant_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _organization(slug)
    return console_render(
        request,
        "console/tenant.html",
        {
            "data": tenant_page(organization=organization),
            "suspend_form": SuspendForm(),
            "reactivate_form": ReasonForm(),
            "deletion": _scheduled_deletion(organization),
            "usage": usage_summary(organization=organization),
            "invoices": list(invoice_list(organization=organization)[:6]),
        },
    )


def _scheduled_deletion(organization: Organization) -> OrganizationDeletion | None:
    return OrganizationDeletion.objects.filter(
        org_id=organization.org_id, state=OrganizationDeletion.State.SCHEDULED
    ).first()


def _tenant_action(
    request: HttpRequest,
    slug: str,
    *,
    form_class: type[ReasonForm],
    act: Callable[[Organization, dict[str, Any]], str],
    error: type[Exception],
    verb: str,
    explain: str,
) -> HttpResponse:
    """A dangerous action on a tenant, confirmed on its own page (`console/confirm.html`).

    GET shows the page; a valid POST calls `act(organization, cleaned_data)`, which calls one
    service and returns the success message, then redirects to the tenant's page. The
    service's domain `error` becomes the form's error; the page is shown again with 400.
    The form posts to `/console/tenants/<slug>/<verb lowercased>/`.
    """
    organization = _organization(slug)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = act(organization, form.cleaned_data)
        except error as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done)
            return HttpResponseRedirect(f"/console/tenants/{slug}/")
    return console_render(
        request,
        "console/confirm.html",
        {
            "form": form,
            "organization": organization,
            "title": f"{verb} {organization.name}",
            "action": f"/console/tenants/{organization.slug}/{verb.lower()}/",
            "explain": explain,
            "button": verb,
        },
        status=400 if form.errors else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the confirmation page; POST: schedule the organization's deletion (reason,
    confirm): suspended now, its export built, everything dropped after the grace period
    (tenants.services.offboarding)."""

    def delete(organization: Organization, data: dict[str, Any]) -> str:
        deletion = organization_delete(
            organization=organization, actor=request.user, reason=data["reason"]
        )
        return (
            f"{organization.name} is suspended and will be deleted on "
            f"{deletion.scheduled_for:%Y-%m-%d %H:%M} UTC; its export is being built."
        )

    return _tenant_action(
        request,
        slug,
        form_class=ReasonForm,
        act=delete,
        error=OffboardingError,
        verb="Delete",
        explain=f"It is suspended at once and its data exported for its admins to download; "
        f"after {settings.TENANT_DELETION_GRACE_DAYS} days its schema, media and rows are "
        "dropped for good. Until then the deletion can be cancelled.",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_plan_view(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the confirmation page; POST: move the organization to another plan from now on
    (no proration; recorded in the audit log by billing_stub's service)."""

    def change_plan(organization: Organization, data: dict[str, Any]) -> str:
        subscription = subscription_change_plan(
            organization=organization,
            plan_code=data["plan"],
            actor=request.user,
            reason=data["reason"],
        )
        return f"{organization.name} is on the {subscription.plan.name} plan now."

    return _tenant_action(
        request,
        slug,
        form_class=PlanChangeForm,
        act=change_plan,
        error=BillingError,
        verb="Plan",
        explain="The new plan's limits apply at once; its fee is invoiced for the whole current "
        "period (no proration), and the move is kept in the audit log.",
    )


@staff_required
@require_POST
def tenant_delete_cancel_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Cancel a scheduled deletion (the organization gets its previous status back)."""
    organization = _organization(slug)
    deletion = _scheduled_deletion(organization)
    form = ReasonForm(request.POST)
    if deletion is None:
        messages.error(request, "No deletion of this organization is scheduled.")
    elif not form.is_valid():
        messages.error(request, "Give a reason and tick the confirmation to cancel the deletion.")
    else:
        try:
            organization_delete_cancel(
                deletion=deletion, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except OffboardingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"The deletion of {organization.name} is cancelled.")
    return HttpResponseRedirect(f"/console/tenants/{slug}/")


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_suspend_view(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the confirmation page; POST: suspend (category, reason, confirm)."""

    def suspend(organization: Organization, data: dict[str, Any]) -> str:
        tenant_suspend(
            organization=organization,
            actor=request.user,
            category=data["category"],
            reason=data["reason"],
        )
        return f"{organization.name} is suspended."

    return _tenant_action(
        request,
        slug,
        form_class=SuspendForm,
        act=suspend,
        error=SuspensionError,
        verb="Suspend",
        explain="Its people and API clients are refused at once and its webhook changes "
        "are held (kept, not applied) until it is reactivated.",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_reactivate_view(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the confirmation page; POST: reactivate (reason, confirm) and release the
    webhook changes held while it was suspended."""

    def reactivate(organization: Organization, data: dict[str, Any]) -> str:
        result = tenant_reactivate(
            organization=organization, actor=request.user, reason=data["reason"]
        )
        return (
            f"{organization.name} is active again; {result.released.requeued} held webhook "
            "change(s) released in order."
        )

    return _tenant_action(
        request,
        slug,
        form_class=ReasonForm,
        act=reactivate,
        error=SuspensionError,
        verb="Reactivate",
        explain="Its people and API clients get access back, and the webhook changes "
        "held while it was suspended are applied in the order Meta sent them.",
    )


@staff_required
@require_POST
def tenant_token_refresh_view(request: HttpRequest, slug: str) -> HttpResponse:
    organization = _organization(slug)
    outcome = tenant_token_refresh(organization=organization, actor=request.user)
    if outcome == "refreshed":
        messages.success(request, "The token was refreshed.")
    else:
        messages.error(request, f"The refresh failed: {outcome}")
    return HttpResponseRedirect(f"/console/tenants/{slug}/")


@staff_required
@require_POST
def tenant_number_check_view(request: HttpRequest, slug: str, phone_number_id: str) -> HttpResponse:
    organization = _organization(slug)
    try:
        checkup = tenant_number_check(
            organization=organization, actor=request.user, phone_number_id=phone_number_id
        )
    except PhoneNumber.DoesNotExist:
        messages.error(request, "This organization has no such number.")
    else:
        messages.success(request, f"Checked: {checkup.problems} thing(s) to look at.")
    return HttpResponseRedirect(f"/console/tenants/{slug}/")
