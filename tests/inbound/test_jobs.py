"""whatsapp.services.jobs: inbound follow-ups enqueued by task name, after commit, in the schema
of the caller; their retry policies read settings at each call.

The broker boundary is faked (the Celery app's `send_task` records its calls) to see exactly what
is published and when; the real worker path is covered by tests/inbound/test_sandbox.py
(media downloads) and tests/inbound/test_pipeline_http.py (parked receipts)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from saas_platform.celery import app
from tests.conftest import in_tenant
from whatsapp.services import jobs


@pytest.fixture
def published(monkeypatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        app, "send_task", lambda name, **options: calls.append({"name": name, **options})
    )
    return calls


def test_the_task_names_are_registered_celery_tasks():
    """A stale dotted name would be published and dropped by the worker."""
    app.loader.import_default_modules()
    assert jobs.MEDIA_DOWNLOAD_TASK in app.tasks
    assert jobs.PENDING_STATUS_RECONCILE_TASK in app.tasks


def test_a_media_download_is_published_after_commit_in_the_callers_tenant(
    db, org_a, published, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture, in_tenant(org_a), transaction.atomic():
        jobs.media_download_enqueue(media_id=42)
        assert published == []  # nothing before the commit
    [call] = published
    assert call["name"] == "whatsapp.tasks.inbound.media_download_task"
    assert call["args"] == [42]
    assert call["headers"] == {"_schema_name": org_a.organization.schema_name}


def test_a_rolled_back_enqueue_publishes_nothing(
    db, org_a, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, in_tenant(org_a):
        jobs.media_download_enqueue(media_id=6)  # committed: published
        with pytest.raises(RuntimeError), transaction.atomic():
            jobs.media_download_enqueue(media_id=7)
            raise RuntimeError("rolled back")
    assert len(callbacks) == 1
    assert [call["args"] for call in published] == [[6]]


def test_a_parked_receipt_is_looked_up_again_after_the_policys_delay(
    db, org_b, published, settings, django_capture_on_commit_callbacks
):
    settings.WHATSAPP_PENDING_STATUS_RETRY_BASE_DELAY = 3.0
    settings.WHATSAPP_PENDING_STATUS_RETRY_MAX_DELAY = 5.0
    with django_capture_on_commit_callbacks(execute=True), in_tenant(org_b):
        jobs.pending_status_reconcile_enqueue(wamid="wamid.P", attempt=1)
        jobs.pending_status_reconcile_enqueue(wamid="wamid.P", attempt=4)
    first, later = published
    assert first["args"] == ["wamid.P", 1] and later["args"] == ["wamid.P", 4]
    assert first["countdown"] == 3.0 and later["countdown"] == 5.0  # capped, no jitter
    assert first["headers"] == {"_schema_name": org_b.organization.schema_name}


def test_retry_policies_follow_the_settings_of_the_moment(settings):
    settings.WHATSAPP_MEDIA_MAX_ATTEMPTS = 2
    assert jobs.media_retry_policy().max_attempts == 2
    settings.WHATSAPP_MEDIA_MAX_ATTEMPTS = 9
    assert jobs.media_retry_policy().max_attempts == 9
    settings.WHATSAPP_PENDING_STATUS_MAX_ATTEMPTS = 3
    assert jobs.reconcile_retry_policy().max_attempts == 3
