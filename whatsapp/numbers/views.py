"""`/numbers/` on an organization's host (admins only): connect a number by Embedded Signup or
by hand, follow and resume onboarding runs, and the number doctor's findings.

Pages read stored rows only; Graph is called by the actions (connect, resume, "Check now"),
each a POST that calls one service. Everything is in the host's schema (`request.tenant`), so
another organization's ids answer 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.models import PhoneNumber, WhatsAppCredential
from tenants.webapp.permissions import admin_required
from whatsapp.numbers.errors import NumberConnectError
from whatsapp.numbers.forms import ManualConnectForm, SignupFinishForm
from whatsapp.numbers.models import NumberCheckup, NumberOnboarding
from whatsapp.numbers.services.doctor import number_checkup
from whatsapp.numbers.services.manual import number_connect_manual
from whatsapp.numbers.services.onboarding import ORDER, onboarding_resume, onboarding_start


@require_GET
@admin_required
def numbers_page(request: HttpRequest) -> HttpResponse:
    organization = request.tenant
    numbers = list(PhoneNumber.objects.filter(organization=organization).order_by("connected_at"))
    checkups = {c.phone_number_id: c for c in NumberCheckup.objects.all()}
    context = {
        "numbers": [(number, checkups.get(number.phone_number_id)) for number in numbers],
        "runs": NumberOnboarding.objects.exclude(state=NumberOnboarding.State.DONE)[:10],
        "credential": WhatsAppCredential.objects.filter(organization=organization).first(),
    }
    return render(request, "numbers/numbers.html", context)


@require_http_methods(["GET", "POST"])
@admin_required
def connect_signup(request: HttpRequest) -> HttpResponse:
    """The Embedded Signup page; its script posts the popup's result here."""
    form = SignupFinishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        run = onboarding_start(
            organization=request.tenant,
            code=data["code"],
            waba_id=data["waba_id"],
            phone_number_id=data["phone_number_id"],
            business_id=data.get("business_id") or "",
            test_recipient=data.get("test_recipient") or "",
            created_by=request.user.get_username(),
        )
        return HttpResponseRedirect(f"/numbers/onboarding/{run.pk}/")
    if request.method == "POST":
        messages.error(request, "The signup did not finish: run it again.")
    signup = {
        "sandbox": settings.WHATSAPP_SANDBOX_MODE,
        "popup_url": f"{settings.WHATSAPP_GRAPH_URL.rstrip('/')}/_sandbox/signup",
        "meta_origin": settings.WHATSAPP_GRAPH_URL.rstrip("/")
        if settings.WHATSAPP_SANDBOX_MODE
        else "https://www.facebook.com",
        "app_id": settings.WHATSAPP_APP_ID,
        "config_id": settings.WHATSAPP_EMBEDDED_SIGNUP_CONFIG_ID,
        "graph_version": settings.WHATSAPP_GRAPH_VERSION,
    }
    context = {"form": form, "signup": signup}
    response = render(request, "numbers/connect.html", context, status=400 if request.POST else 200)
    # Meta's popup (or the sandbox's, another origin) must keep `window.opener` to post its
    # result back; Django's default `same-origin` would sever it.
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


@require_GET
@admin_required
def onboarding_page(request: HttpRequest, onboarding_id: int) -> HttpResponse:
    run = get_object_or_404(NumberOnboarding, pk=onboarding_id)
    done_steps = {entry["step"] for entry in run.steps if entry.get("ok")}
    steps = [
        {
            "label": NumberOnboarding.Step(step).label,
            "state": "done"
            if step in done_steps or run.state == NumberOnboarding.State.DONE
            else (run.state if step == run.step else "todo"),
        }
        for step in ORDER[:-1]
    ]
    template = "numbers/_onboarding.html" if request.htmx else "numbers/onboarding.html"
    return render(request, template, {"run": run, "steps": steps})


@require_POST
@admin_required
def onboarding_resume_view(request: HttpRequest, onboarding_id: int) -> HttpResponse:
    get_object_or_404(NumberOnboarding, pk=onboarding_id)
    onboarding_resume(organization=request.tenant, onboarding_id=onboarding_id)
    return HttpResponseRedirect(f"/numbers/onboarding/{onboarding_id}/")


@require_http_methods(["GET", "POST"])
@admin_required
def connect_manual(request: HttpRequest) -> HttpResponse:
    form = ManualConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            number = number_connect_manual(organization=request.tenant, **form.cleaned_data)
        except NumberConnectError as exc:
            form.add_error(exc.field, exc.message)
        else:
            number_checkup(organization=request.tenant, phone_number_id=number.phone_number_id)
            messages.success(request, f"Number {number.display_label} connected.")
            return HttpResponseRedirect("/numbers/")
    status = 400 if request.method == "POST" else 200
    return render(request, "numbers/manual.html", {"form": form}, status=status)


@require_POST
@admin_required
def check_now(request: HttpRequest, phone_number_id: str) -> HttpResponse:
    try:
        number_checkup(organization=request.tenant, phone_number_id=phone_number_id)
    except PhoneNumber.DoesNotExist:
        raise Http404("no such number") from None
    messages.success(request, "Checked just now.")
    return HttpResponseRedirect(f"/numbers/#number-{phone_number_id}")
