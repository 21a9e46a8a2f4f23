"""The `messages` webhook handler with the chatbot behind it (settings
`WHATSAPP_WEBHOOK_HANDLERS["messages"]`; contract in whatsapp.webhooks.handlers).

The core handler stores the batch; then, with no query of its own, the wamids of the batch's
inbound messages are handed to `chatbot_messages_handle_task`, published after the gateway's
transaction commits, in this tenant (a rolled-back batch publishes nothing). Statuses never
reach the bot. The task's per-wamid turn row makes a redelivery or replay harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from saas_platform.queue import enqueue_on_commit
from whatsapp.webhooks.fields import messages_handler as core_messages_handler
from whatsapp.webhooks.handlers import ChangeInput

TASK = "whatsapp.chatbot.tasks.chatbot_messages_handle_task"


def messages_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    outcome = core_messages_handler(changes)
    wamids = [
        str(message["id"])
        for change in changes
        for message in (change.value.get("messages") or [])
        if isinstance(message, dict) and message.get("id")
    ]
    if wamids:
        enqueue_on_commit(TASK, args=[wamids])
    return outcome
