"""Thin tasks of the chatbot: ids in, one service call, outcome string out."""

from __future__ import annotations

from celery import shared_task

from saas_platform.queue import enqueue_on_commit


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def chatbot_messages_handle_task(wamids: list[str]) -> str:
    from whatsapp.chatbot.services import chatbot_messages_handle

    return chatbot_messages_handle(wamids=wamids)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def external_bot_deliver_task(delivery_id: int) -> str:
    from whatsapp.chatbot.external import external_bot_deliver

    delay = external_bot_deliver(delivery_id=delivery_id)
    if delay is None:
        return "settled"
    enqueue_on_commit(
        "whatsapp.chatbot.tasks.external_bot_deliver_task", args=[delivery_id], countdown=delay
    )
    return f"retry in {delay:.1f}s"
