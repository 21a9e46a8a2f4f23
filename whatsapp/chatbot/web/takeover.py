"""The bot's state for one conversation, as an htmx fragment the inbox loads beside a thread
(`GET /chatbot/takeover/?contact=<id>&phone_number_id=<id>`, as the template picker is): who
answers, the bot or a person (a member's reply, a "talk to a person" rule or the external bot
took it over, until when), and "Hand back to the bot" (`POST /chatbot/takeover/release/`,
the same service as `POST /api/v1/chatbot/takeover/release/`). Members may use it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.webapp.permissions import member_required
from whatsapp.chatbot.models import ChatbotConversation
from whatsapp.chatbot.services import conversation_release, settings_get
from whatsapp.models import Contact

REASONS = {
    "member_reply": "a team member replied",
    "rule": "a “talk to a person” rule fired",
    "external_bot": "the external bot asked for a person",
}


def _card(request: HttpRequest, contact: Contact, phone_number_id: str) -> HttpResponse:
    conversation = ChatbotConversation.objects.filter(
        contact=contact, phone_number_id=phone_number_id
    ).first()
    held = conversation is not None and (
        conversation.takeover_until is not None and conversation.takeover_until > timezone.now()
    )
    context = {
        "contact": contact,
        "phone_number_id": phone_number_id,
        "held": held,
        "until": conversation.takeover_until if held else None,
        "reason": REASONS.get(conversation.takeover_reason, "") if held else "",
        "step": conversation.step if conversation is not None and not held else "",
        "enabled": settings_get().enabled,
    }
    return render(request, "chatbot/_takeover.html", context)


def _contact(value: str) -> Contact:
    # Only the host's schema is searched: another organization's id is a 404 here.
    return get_object_or_404(Contact.objects.all(), pk=int(value) if value.isdigit() else 0)


@require_GET
@member_required
def takeover_card(request: HttpRequest) -> HttpResponse:
    contact = _contact(request.GET.get("contact", ""))
    return _card(request, contact, request.GET.get("phone_number_id", "")[:64])


@require_POST
@member_required
def takeover_release(request: HttpRequest) -> HttpResponse:
    contact = _contact(request.POST.get("contact", ""))
    phone_number_id = request.POST.get("phone_number_id", "")[:64]
    conversation_release(contact=contact, phone_number_id=phone_number_id or None)
    return _card(request, contact, phone_number_id)
