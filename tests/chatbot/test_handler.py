"""The `messages` handler with the chatbot behind it: a batch that stored customer messages
publishes one bot task (after commit) naming their wamids; receipts publish none; a batch that
rolls back publishes nothing. Celery's `before_task_publish` signal records what is published
(to the test broker; no worker runs here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery.signals import before_task_publish
from django.db import transaction

from tests.conftest import in_tenant
from tests.inbound.conftest import FIXTURE_NUMBER_ID, first_value, load
from whatsapp.chatbot.handler import TASK, messages_handler
from whatsapp.webhooks.handlers import ChangeInput


@pytest.fixture
def published() -> Iterator[list[tuple[str, object]]]:
    seen: list[tuple[str, object]] = []

    def record(sender=None, body=None, **kwargs) -> None:
        seen.append((sender, body[0] if body else None))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


def change(name: str, change_id: int = 1) -> ChangeInput:
    return ChangeInput(
        change_id=change_id,
        field="messages",
        phone_number_id=FIXTURE_NUMBER_ID,
        waba_id="",
        value=first_value(load(name)),
    )


def bot_tasks(published):
    return [args for name, args in published if name == TASK]


def test_stored_messages_publish_one_bot_task_after_commit(
    db, org_a, published, django_capture_on_commit_callbacks
):
    text, image = change("message_text", 1), change("message_image", 2)
    with in_tenant(org_a), django_capture_on_commit_callbacks(execute=True):
        messages_handler([text, image])
        assert bot_tasks(published) == []  # not before the commit
    wamids = [m["id"] for c in (text, image) for m in c.value["messages"]]
    assert bot_tasks(published) == [[wamids]]


def test_receipts_reach_no_bot(db, org_a, published, django_capture_on_commit_callbacks):
    with in_tenant(org_a), django_capture_on_commit_callbacks(execute=True):
        messages_handler([change("status_delivered"), change("status_read", 2)])
    assert bot_tasks(published) == []


def test_a_rolled_back_batch_publishes_nothing(
    db, org_a, published, django_capture_on_commit_callbacks
):
    with in_tenant(org_a), django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                messages_handler([change("message_text")])
                raise RuntimeError("the gateway's savepoint fails")
        except RuntimeError:
            pass
    assert bot_tasks(published) == []
