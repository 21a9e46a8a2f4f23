"""The shared inbox pages (organization host): `/inbox/`, `/inbox/<id>/` and their actions.

Live updates poll: each open page asks a "changed since" endpoint every second with the stamp
it was rendered with (whatsapp.inbox.selectors.inbox_stamp / conversation_stamp) and gets 204
(htmx swaps nothing) or the fresh fragment. Why polling and not SSE/WebSockets: the stamp is one
index range scan on the summary rows, any web process answers it (no in-process state, works
behind a load balancer with two or more processes), it holds no worker or connection open
(gunicorn's sync workers would each be pinned by an SSE stream), and a second's delay is
within the 2-second promise.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.errors import PlanLimitError
from tenants.webapp.permissions import member_required
from whatsapp.errors import WhatsAppDomainError
from whatsapp.inbox import selectors
from whatsapp.inbox.media_links import MediaLinkInvalidError, media_link_open
from whatsapp.inbox.services import (
    conversation_assign,
    conversation_mark_read,
    conversation_note_add,
    conversation_reply,
)
from whatsapp.models import Conversation

POLL_SECONDS = 1


def _list_context(request: HttpRequest) -> dict:
    search = request.GET.get("q", "")[:200]
    members = selectors.org_members()
    now = timezone.now()
    rows = [
        {
            "conversation": conversation,
            "assignee": members.get(conversation.assignee_user_id or 0, ""),
            "closes_at": selectors.window_closes_at(conversation),
        }
        for conversation in selectors.conversation_list(search=search)
    ]
    for row in rows:
        closes_at = row["closes_at"]
        row["window_open"] = closes_at is not None and closes_at > now
        row["time_left"] = (closes_at - now) if row["window_open"] else None
    return {"rows": rows, "q": search, "stamp": selectors.inbox_stamp(), "poll": POLL_SECONDS}


@require_GET
@member_required
def inbox_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inbox/list.html", _list_context(request))


@require_GET
@member_required
def inbox_changes(request: HttpRequest) -> HttpResponse:
    """204 while nothing changed since `stamp`, else the list fragment (with its new stamp)."""
    if request.GET.get("stamp") == selectors.inbox_stamp():
        return HttpResponse(status=204)
    return render(request, "inbox/_list.html", _list_context(request))


def _conversation_context(conversation: Conversation) -> dict:
    now = timezone.now()
    closes_at = selectors.window_closes_at(conversation)
    window_open = closes_at is not None and closes_at > now
    return {
        "conversation": conversation,
        "contact": conversation.contact,
        "thread": selectors.conversation_thread(conversation=conversation),
        "notes": list(conversation.notes.all()),
        "members": selectors.org_members(),
        "window_open": window_open,
        "time_left": closes_at - now if window_open else None,
        "closes_at": closes_at,
        "stamp": selectors.conversation_stamp(conversation=conversation),
        "poll": POLL_SECONDS,
    }


def _conversation(conversation_id: int) -> Conversation:
    # Only the host's schema is searched: another organization's id is a 404 here.
    return get_object_or_404(Conversation.objects.select_related("contact"), pk=conversation_id)


@require_GET
@member_required
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    context = _conversation_context(_conversation(conversation_id))
    return render(request, "inbox/detail.html", context)


@require_GET
@member_required
def conversation_changes(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """204 while nothing changed since `stamp`, else the thread fragment; the composer too
    (out of band) when the 24-hour window opened or closed since the page was rendered."""
    conversation = _conversation(conversation_id)
    if request.GET.get("stamp") == selectors.conversation_stamp(conversation=conversation):
        return HttpResponse(status=204)
    context = _conversation_context(conversation)
    context["composer_oob"] = request.GET.get("open") != ("1" if context["window_open"] else "0")
    return render(request, "inbox/_thread.html", context)


def _back(conversation: Conversation) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"/inbox/{conversation.pk}/")


@require_POST
@member_required
def conversation_reply_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    text = request.POST.get("text", "").strip()
    upload = request.FILES.get("file")
    if not text and upload is None:
        messages.error(request, "Write a message or attach a file.")
        return _back(conversation)
    try:
        conversation_reply(
            conversation=conversation, text=text, upload=upload, created_by=request.user
        )
    except WhatsAppDomainError as exc:
        messages.error(request, f"Not sent: {exc.message}")
    except PlanLimitError as exc:  # the plan's monthly messages, or a payment past due
        messages.error(request, f"Not sent: {exc}")
    return _back(conversation)


@require_POST
@member_required
def conversation_assign_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    raw = request.POST.get("user", "")
    user_id = int(raw) if raw.isdigit() else None
    if raw and user_id is None:
        messages.error(request, "Choose a member.")
        return _back(conversation)
    return _act(request, conversation, conversation_assign, user_id=user_id)


@require_POST
@member_required
def conversation_note_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _act(
        request,
        _conversation(conversation_id),
        conversation_note_add,
        text=request.POST.get("text", ""),
        author_user_id=request.user.pk,
        author_label=request.user.email or request.user.get_username(),
    )


def _act(request: HttpRequest, conversation: Conversation, service, **kwargs) -> HttpResponse:
    """Run a conversation service; its domain error becomes a message on the page."""
    try:
        service(conversation=conversation, **kwargs)
    except WhatsAppDomainError as exc:
        messages.error(request, exc.message)
    return _back(conversation)


@require_POST
@member_required
def conversation_read_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    try:
        conversation_mark_read(conversation=conversation)
    except WhatsAppDomainError as exc:
        messages.warning(
            request, f"Marked read here, but Meta's read receipt failed: {exc.message}"
        )
    return _back(conversation)


@require_GET
@member_required
def media_file(request: HttpRequest, token: str) -> HttpResponse:
    """A message's media behind a signed, expiring, organization-bound link; 404 otherwise."""
    try:
        opened = media_link_open(token=token)
    except MediaLinkInvalidError:
        return HttpResponse("This media link is invalid or has expired.", status=404)
    media = opened.media
    response = FileResponse(
        media.file.open("rb"),
        content_type=opened.content_type,
        as_attachment=not opened.inline,
        filename=media.original_filename or f"media{media.extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    # Nothing served here may run script, even a type a browser renders (PDF, SVG-like).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
