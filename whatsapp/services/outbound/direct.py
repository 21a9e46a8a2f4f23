"""`send_whatsapp_message`: the direct helper the issue names (no row, no pipeline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whatsapp.graph.client import GraphClient
from whatsapp.graph.payloads import PayloadError, build_message_payload, build_payload_from_parts
from whatsapp.graph.types import SentMessage
from whatsapp.services.meta_access import graph_client_for_token
from whatsapp.services.outbound.rules import content_error, recipient_normalize


def send_whatsapp_message(
    access_token: str,
    recipient: str,
    message_type: str,
    content: Mapping[str, Any] | str | None = None,
    caption: str | None = None,
    media_url: str | None = None,
    *,
    phone_number_id: str,
    reply_to: str | None = None,
    callback_data: str | None = None,
    client: GraphClient | None = None,
) -> SentMessage:
    """Build Meta's payload and post it with `access_token` from `phone_number_id`.

    A thin, stateless wrapper over `whatsapp.graph.payloads` and `GraphClient` for scripts and
    one-off calls: it stores nothing, does not retry and does not rate-limit. Product code
    creates a WhatsAppMessage instead (the pipeline above). `content` is Meta's object for the
    type, or (as in `build_payload_from_parts`) the text body / a media id or link as a string;
    `caption` and `media_url` fill a media message's caption and link. Raises
    InvalidRecipientError, InvalidContentError or the Graph client's errors.
    """
    to = recipient_normalize(recipient=recipient).value
    try:
        if isinstance(content, Mapping):
            parts = dict(content)
            if caption is not None:
                parts["caption"] = caption
            if media_url is not None:
                parts.pop("id", None)
                parts["link"] = media_url
            payload = build_message_payload(recipient=to, message_type=message_type, content=parts)
        else:
            payload = build_payload_from_parts(to, message_type, content, caption, media_url)
    except PayloadError as exc:
        raise content_error(exc) from exc
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    if client is not None:
        return client.send_message(phone_number_id, payload)
    with graph_client_for_token(access_token) as own_client:
        return own_client.send_message(phone_number_id, payload)
