"""The chatbot's page in the organization's web app (`/chatbot/`): the rules in evaluation
order with a form to add a text-reply rule, and the simulator beside them. Members may use it.
Input goes through the API's serializers (one set of validation rules); the simulator calls the
same decision as `POST /api/v1/chatbot/simulate/` and never sends anything."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tenants.webapp.permissions import member_required
from whatsapp.chatbot.api.serializers import ChatbotRuleSerializer, SimulateSerializer
from whatsapp.chatbot.models import ChatbotRule
from whatsapp.chatbot.services import chatbot_simulate

MATCH_LABELS = dict(ChatbotRule.Match.choices)


def _page(
    request: HttpRequest, *, errors: dict | None = None, values: dict | None = None, status=200
):
    context = {
        "rules": ChatbotRule.objects.order_by("priority", "id"),
        "match_kinds": ChatbotRule.Match.choices,
        "errors": errors or {},
        "values": values or {"match_kind": "contains", "priority": 100, "ignore_case": True},
    }
    return render(request, "chatbot/rules.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def rules_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    form = request.POST
    data = {
        "name": form.get("name", "").strip(),
        "match_kind": form.get("match_kind", ""),
        "pattern": form.get("pattern", ""),
        "ignore_case": form.get("ignore_case") == "on",
        "priority": form.get("priority") or 100,
        "reply_kind": "text",
        "reply": {"body": form.get("reply", "")},
    }
    serializer = ChatbotRuleSerializer(data=data)
    if not serializer.is_valid():
        errors = {k: " ".join(str(m) for m in v) for k, v in serializer.errors.items()}
        values = data | {"reply": data["reply"]["body"]}
        return _page(request, errors=errors, values=values, status=400)
    serializer.save()
    return redirect("/chatbot/")


@require_POST
@member_required
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    get_object_or_404(ChatbotRule.objects.all(), pk=rule_id).delete()
    return redirect("/chatbot/")


@require_POST
@member_required
def simulate(request: HttpRequest) -> HttpResponse:
    serializer = SimulateSerializer(data={"text": request.POST.get("text", "")[:4096]})
    serializer.is_valid(raise_exception=True)  # a string of at most 4,096 characters: valid
    decision = chatbot_simulate(
        text=serializer.validated_data["text"],
        message_type="text",
        interactive_id="",
        contact=None,
        phone_number_id="",
        now=timezone.now(),
    )
    return render(request, "chatbot/_simulation.html", {"decision": decision})
