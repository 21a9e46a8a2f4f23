"""Template helpers of the inbox pages: signed media links, delivery ticks, short durations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import format_html

from whatsapp.inbox.media_links import media_link_token
from whatsapp.models import WhatsAppMedia, WhatsAppMessage

register = template.Library()

Status = WhatsAppMessage.Status
# What the team sees of an outgoing message's state (README "Outbound": each state is what Meta
# said): a symbol and words for screen readers and the tooltip.
TICKS = {
    Status.QUEUED: ("🕓", "queued"),
    Status.SENDING: ("🕓", "sending"),
    Status.ACCEPTED: ("✓", "accepted by WhatsApp"),
    Status.SENT: ("✓", "sent"),
    Status.DELIVERED: ("✓✓", "delivered"),
    Status.READ: ("✓✓", "read"),
    Status.PLAYED: ("✓✓", "played"),
}


@register.simple_tag
def media_url(message: WhatsAppMessage) -> str:
    """A signed, expiring link to the message's stored media; "" while it is not stored."""
    try:
        media = message.media
    except WhatsAppMedia.DoesNotExist:
        return ""
    if media.state != WhatsAppMedia.State.STORED or not media.file:
        return ""
    return f"/inbox/media/{media_link_token(media_id=media.pk)}/"


@register.filter
def media_type(message: WhatsAppMessage) -> str:
    """The `type` of a <source>: OGG voice notes say their Opus codec so browsers play them."""
    try:
        mime = message.media.mime_type
    except WhatsAppMedia.DoesNotExist:
        return ""
    base = mime.split(";", 1)[0].strip().lower()
    return 'audio/ogg; codecs="opus"' if base == "audio/ogg" else base


@register.simple_tag
def ticks(message: WhatsAppMessage) -> str:
    if message.status == Status.FAILED:
        reason = message.error_title or message.failure_reason or "failed"
        code = f" ({message.error_code})" if message.error_code else ""
        detail = message.error_message
        return format_html(
            '<span class="ticks failed" title="{}">⚠ Not delivered: {}{}</span>',
            detail,
            reason,
            code,
        )
    symbol, words = TICKS.get(message.status, ("", message.status))
    css = "ticks read" if message.status in (Status.READ, Status.PLAYED) else "ticks"
    return format_html(
        '<span class="{}" title="{}" aria-label="{}">{}</span>', css, words, words, symbol
    )


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    return mapping.get(key) if mapping and key else None


@register.filter
def timeuntil_short(value: timedelta | None) -> str:
    """`5h 12m`, `42m`, `30s`."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"
