"""Template webhook changes from Meta's payloads (tests/fixtures/meta/template_*.json): parsed
into typed updates, applied to the stored template in the tenant, a notice each, replays
skipped. Handlers are called directly inside the tenant (the gateway's contract), no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import in_tenant
from tests.inbound.conftest import first_value, load
from whatsapp.graph.template_updates import (
    template_category_update_parse,
    template_quality_update_parse,
    template_status_update_parse,
)
from whatsapp.message_templates.models import MessageTemplate, TemplateNotice
from whatsapp.message_templates.services.webhooks import (
    category_handler,
    quality_handler,
    status_handler,
)
from whatsapp.webhooks.handlers import ChangeInput

WABA = "102290129340398"


def change(name: str, change_id: int, field: str) -> ChangeInput:
    return ChangeInput(
        change_id=change_id,
        field=field,
        phone_number_id="",
        waba_id=WABA,
        value=first_value(load(name)),
    )


def test_meta_payloads_parse_into_typed_updates():
    paused = template_status_update_parse(first_value(load("template_status_paused")))
    assert (paused.template_id, paused.event, paused.pause_title, paused.reason) == (
        "806312974732579",
        "PAUSED",
        "FIRST_PAUSE",
        "",
    )
    rejected = template_status_update_parse(first_value(load("template_status_rejected")))
    assert rejected.recommendation == "Add a sample for every variable."
    quality = template_quality_update_parse(first_value(load("template_quality_update")))
    assert (quality.previous_score, quality.new_score) == ("GREEN", "YELLOW")
    announced = template_category_update_parse(first_value(load("template_category_announced")))
    assert announced.announced and announced.effective_at == datetime(2025, 7, 1, 2, tzinfo=UTC)
    done = template_category_update_parse(first_value(load("template_category_done")))
    assert not done.announced and done.previous_category == "UTILITY"
    with pytest.raises(ValueError):
        template_status_update_parse({"event": "APPROVED"})


@pytest.mark.django_db
def test_each_change_updates_the_template_once_with_a_notice(org_a):
    with in_tenant(org_a):
        template = MessageTemplate.objects.create(
            waba_id=WABA,
            name="order_confirmation",
            language="en_US",
            meta_id="806312974732579",
            status="APPROVED",
            category="UTILITY",
        )
        status = change("template_status_paused", 9001, "message_template_status_update")
        assert status_handler([status]) == {9001: ""}
        assert status_handler([status]) == {9001: "replayed: already applied"}
        quality = change("template_quality_update", 9002, "message_template_quality_update")
        assert quality_handler([quality]) == {9002: ""}
        announced = change("template_category_announced", 9003, "template_category_update")
        done = change("template_category_done", 9004, "template_category_update")
        assert category_handler([announced, done]) == {9003: "", 9004: ""}
        template.refresh_from_db()
        assert template.status == "PAUSED" and len(template.pause_history) == 1
        assert template.quality_score == "YELLOW"
        assert (template.category, template.previous_category) == ("MARKETING", "UTILITY")
        assert list(TemplateNotice.objects.values_list("kind", flat=True)) == [
            "category_changed",
            "category_announced",
            "quality",
            "paused",
        ]
        # A template created in Meta's own tools arrives by its status webhook.
        other = dict(status.value, message_template_id=1, message_template_name="from_meta_ui")
        rejected = ChangeInput(9005, status.field, "", WABA, other | {"event": "REJECTED"})
        assert status_handler([rejected]) == {9005: ""}
        assert MessageTemplate.objects.get(name="from_meta_ui").status == "REJECTED"
        unknown = ChangeInput(
            9006,
            quality.field,
            "",
            WABA,
            dict(quality.value, message_template_id=2, message_template_name="nope"),
        )
        assert quality_handler([unknown]) == {9006: "no stored template matches"}
