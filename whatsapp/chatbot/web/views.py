"""The chatbot's rule pages in the organization's web app, with the simulator beside them.

- `/chatbot/`: the rules in evaluation order; per rule enable/disable, move up/down (priorities
  10, 20, ... through `rules_reorder`), edit, delete; a menu rule lists its choices and the
  rule each one leads to (or a link that starts that rule).
- `/chatbot/rules/new/`, `/chatbot/rules/<id>/`: the editor: every match kind, every reply kind
  (its fields swapped in by htmx when the kind changes), per-number scope, menu steps, the
  template for a closed window.
- `/chatbot/simulate/` (htmx): what the bot would answer, from a new contact or a chosen one,
  on a number; a menu's choices can be tapped to walk it. Nothing is stored or sent.
Members may use them (as the API's rule endpoints). Input goes through the API's serializers:
one set of validation rules.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.models import PhoneNumber
from tenants.webapp.permissions import member_required
from whatsapp.chatbot.api.serializers import ChatbotRuleSerializer, SimulateSerializer
from whatsapp.chatbot.models import ChatbotRule
from whatsapp.chatbot.services import chatbot_simulate, rules_reorder
from whatsapp.chatbot.web.forms import (
    MEDIA_KINDS,
    FormInputError,
    error_messages,
    rule_choices,
    rule_data_from_form,
    rule_form_values,
)
from whatsapp.models import Contact

# "When the message ..." (the model's choices are the API's machine values).
MATCH_LABELS = {
    "exact": "is exactly",
    "contains": "contains",
    "starts_with": "starts with",
    "regex": "matches the regex",
    "interactive_id": "is a button or list reply with id",
    "message_type": "is of type",
}
REPLY_HELP = {
    "text": "A text message.",
    "media": "An image, video, audio, document or sticker by public link.",
    "buttons": "A menu of up to 3 buttons; each choice can lead to a rule of its own.",
    "list": "A menu of up to 10 options behind a button; each can lead to a rule of its own.",
    "template": "An approved template (the only kind Meta sends outside the 24-hour window).",
    "handoff": "A person takes the conversation over; the bot stays quiet until released.",
    "external_bot": "The organization's external bot is asked (Settings: URL and secret).",
}


def _numbers(request: HttpRequest) -> list[PhoneNumber]:
    return list(PhoneNumber.objects.filter(organization=request.tenant).order_by("display_number"))


def simulator_context(request: HttpRequest) -> dict[str, Any]:
    """What the simulator beside the rules offers: the numbers and recent contacts."""
    return {
        "numbers": _numbers(request),
        "contacts": Contact.objects.order_by("-last_seen", "-id")[:50],
    }


def _rows() -> list[dict[str, Any]]:
    rules = list(ChatbotRule.objects.order_by("priority", "id"))
    handlers: dict[tuple[str, str], ChatbotRule] = {}
    for rule in rules:
        if rule.step and rule.match_kind == "interactive_id":
            handlers.setdefault((rule.step, rule.pattern.strip()), rule)
    rows = []
    for position, rule in enumerate(rules):
        choices = [
            choice | {"rule": handlers.get((rule.next_step, choice["id"]))}
            for choice in (rule_choices(rule) if rule.next_step else [])
        ]
        rows.append(
            {
                "rule": rule,
                "match": MATCH_LABELS.get(rule.match_kind, rule.match_kind),
                "choices": choices,
                "first": position == 0,
            }
        )
        rows[-1]["last"] = position == len(rules) - 1
    return rows


def _rules_card(request: HttpRequest) -> HttpResponse:
    return render(request, "chatbot/_rules.html", {"rows": _rows()})


@require_GET
@member_required
def rules_page(request: HttpRequest) -> HttpResponse:
    return render(request, "chatbot/rules.html", {"rows": _rows(), **simulator_context(request)})


def _editor(
    request: HttpRequest,
    *,
    rule: ChatbotRule | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "rule": rule,
        "values": values,
        "errors": errors or {},
        "match_kinds": list(MATCH_LABELS.items()),
        "reply_kinds": ChatbotRule.Reply.choices,
        "reply_help": REPLY_HELP,
        "media_kinds": MEDIA_KINDS,
        **simulator_context(request),
    }
    return render(request, "chatbot/rule_form.html", context, status=status)


def _save(request: HttpRequest, rule: ChatbotRule | None) -> HttpResponse:
    values = dict(request.POST.items()) | {
        "enabled": request.POST.get("enabled") == "on",
        "ignore_case": request.POST.get("ignore_case") == "on",
    }
    try:
        data = rule_data_from_form(request.POST)
    except FormInputError as exc:
        return _editor(request, rule=rule, values=values, errors={exc.field: str(exc)}, status=400)
    serializer = ChatbotRuleSerializer(instance=rule, data=data)
    if not serializer.is_valid():
        errors = error_messages(serializer.errors)
        return _editor(request, rule=rule, values=values, errors=errors, status=400)
    serializer.save()
    return redirect("/chatbot/")


@require_http_methods(["GET", "POST"])
@member_required
def rule_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    values = rule_form_values(None)
    for key in ("name", "step", "match_kind", "pattern"):  # "a rule for this choice" links
        if request.GET.get(key):
            values[key] = request.GET[key][:500]
    return _editor(request, rule=None, values=values)


@require_http_methods(["GET", "POST"])
@member_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ChatbotRule.objects.all(), pk=rule_id)
    if request.method == "POST":
        return _save(request, rule)
    return _editor(request, rule=rule, values=rule_form_values(rule))


@require_GET
@member_required
def reply_fields(request: HttpRequest) -> HttpResponse:
    """The editor's reply fieldset for `?reply_kind=` (htmx swaps it in when the kind changes),
    keeping whatever the other fields already hold."""
    values = dict(request.GET.items())
    if values.get("reply_kind") not in ChatbotRule.Reply.values:
        values["reply_kind"] = "text"
    context = {"values": values, "errors": {}, "reply_help": REPLY_HELP, "media_kinds": MEDIA_KINDS}
    return render(request, "chatbot/_reply_fields.html", context)


def _after_change(request: HttpRequest) -> HttpResponse:
    return _rules_card(request) if request.htmx else redirect("/chatbot/")


@require_POST
@member_required
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    get_object_or_404(ChatbotRule.objects.all(), pk=rule_id).delete()
    return _after_change(request)


@require_POST
@member_required
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ChatbotRule.objects.all(), pk=rule_id)
    serializer = ChatbotRuleSerializer(rule, data={"enabled": not rule.enabled}, partial=True)
    serializer.is_valid(raise_exception=True)  # one boolean of a saved rule
    serializer.save()
    return _after_change(request)


@require_POST
@member_required
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Swap the rule with its neighbour (`direction` up or down) in the evaluation order."""
    ids = list(ChatbotRule.objects.order_by("priority", "id").values_list("pk", flat=True))
    if rule_id not in ids:  # another organization's id names nothing here
        raise Http404("No such rule.")
    index = ids.index(rule_id)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        rules_reorder(ids=ids)
    return _after_change(request)


@require_POST
@member_required
def simulate(request: HttpRequest) -> HttpResponse:
    form = request.POST
    serializer = SimulateSerializer(
        data={
            "text": form.get("text", "")[:4096],
            "type": form.get("type") or "text",
            "interactive_id": form.get("interactive_id", "")[:200],
            "phone_number_id": form.get("phone_number_id", "")[:64],
        }
    )
    serializer.is_valid(raise_exception=True)  # bounded strings: valid
    data = serializer.validated_data
    contact = None
    if form.get("contact_id", "").isdigit():
        contact = get_object_or_404(Contact.objects.all(), pk=int(form["contact_id"]))
    step = form.get("step")
    decision = chatbot_simulate(
        text=data["text"],
        message_type=data["type"],
        interactive_id=data["interactive_id"],
        contact=contact,
        phone_number_id=data["phone_number_id"],
        now=timezone.now(),
        step=step[:64] if step is not None and form.get("walk") else None,
    )
    context = {
        "decision": decision,
        "said": data["text"] or data["interactive_id"] or data["type"],
        "next_step": decision.step if decision.step is not None else (step or ""),
        "contact_id": contact.pk if contact else "",
        "phone_number_id": data["phone_number_id"],
        "rule": ChatbotRule.objects.filter(pk=decision.rule_id).first(),
    }
    return render(request, "chatbot/_simulation.html", context)
