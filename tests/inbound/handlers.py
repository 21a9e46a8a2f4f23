"""Webhook handlers that tests register in settings `WHATSAPP_WEBHOOK_HANDLERS` (dotted paths
resolved at call time by the gateway). They follow the contract in whatsapp/webhooks/handlers.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import connection

from whatsapp.webhooks.handlers import ChangeInput

# (schema the handler ran in, change id, phone_number_id) of every call, in order.
CALLS: list[tuple[str, int, str]] = []


def recording_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    for change in changes:
        CALLS.append((connection.schema_name, change.change_id, change.phone_number_id))
    return {change.change_id: "recorded" for change in changes}


def broken(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    raise RuntimeError("database hiccup")
