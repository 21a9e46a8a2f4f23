"""Webhook handlers that tests register in settings `WHATSAPP_WEBHOOK_HANDLERS` (dotted paths
resolved at call time by the gateway). They follow the contract in whatsapp/webhooks/handlers.py."""

from __future__ import annotations

import threading
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


# `picky` refuses the changes whose message wamid is listed here (raising for the whole batch).
REFUSE: set[str] = set()


def picky(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    for change in changes:
        for message in change.value.get("messages", []):
            if message.get("id") in REFUSE:
                raise ValueError(f"refused {message['id']}")
    return {change.change_id: "" for change in changes}


# `blocking` signals ENTERED (with its PostgreSQL backend pid) and waits for BLOCK.
ENTERED = threading.Event()
BLOCK = threading.Event()
BACKEND_PID: list[int] = []


def blocking(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    BACKEND_PID.append(connection.connection.info.backend_pid)
    ENTERED.set()
    BLOCK.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {change.change_id: "" for change in changes}
