"""The daily template sync: the beat dispatcher fans out per organization through the real
Celery worker; a sync that meets Meta's call budget (80007) is retried after Meta's wait."""

from __future__ import annotations

import pytest

from tests.conftest import in_tenant
from tests.message_templates.conftest import waba, wait_template

pytestmark = pytest.mark.integration


def test_the_daily_dispatcher_syncs_each_organization_in_its_schema(
    sender_a, sender_b, sandbox, celery_worker
):
    from whatsapp.message_templates.tasks import templates_sync_all_task

    sandbox.create_template("daily_a", waba_id=waba(sender_a))
    sandbox.create_template("daily_b", waba_id=waba(sender_b))
    assert templates_sync_all_task() == "dispatched 2 template sync(s)"
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", name="daily_a")
    wait_template(sender_b.org, lambda t: t.status == "APPROVED", name="daily_b")
    from whatsapp.message_templates.models import MessageTemplate

    with in_tenant(sender_a.org):
        assert list(MessageTemplate.objects.values_list("name", flat=True)) == ["daily_a"]


def test_a_rate_limited_sync_is_retried_after_metas_wait(
    sender_a, sandbox, celery_worker, settings
):
    from whatsapp.message_templates.tasks import templates_sync_task

    settings.WHATSAPP_TEMPLATE_RATE_LIMIT_WAIT = 0.5
    sandbox.create_template("late", waba_id=waba(sender_a))
    sandbox.add_fault("error_code", code=80007, path_regex="message_templates")
    with in_tenant(sender_a.org):
        templates_sync_task.delay()
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", name="late")
    calls = [r for r in sandbox.requests(path_contains="message_templates") if r["method"] == "GET"]
    assert [c["response"].get("error", {}).get("code") for c in calls] == [80007, None]
    assert calls[1]["time"] - calls[0]["time"] >= 0.5
