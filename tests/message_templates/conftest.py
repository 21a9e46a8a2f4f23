"""Fixtures of the templates tests: organizations connected to the sandbox (the outbound
tests' `connect`), with Meta's review left to the test (no auto-approval), a webhook worker
applying what the sandbox posts, and a helper to wait for a stored template's state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OrgFixture, in_tenant, wait_for
from tests.outbound.conftest import Sender, connect


@pytest.fixture
def graph_url(sandbox, settings) -> str:
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    settings.WHATSAPP_SEND_RETRY_MAX_DELAY = 0.5
    sandbox.update_config(auto_approve_templates=False)
    return sandbox.base_url


@pytest.fixture
def sender_a(live_db, org_a, graph_url, webhook_worker) -> Sender:
    return connect(org_a)


@pytest.fixture
def sender_b(live_db, org_b, graph_url, webhook_worker) -> Sender:
    return connect(org_b)


def waba(sender: Sender) -> str:
    """The WABA the outbound tests' `connect` gives the sender's number."""
    return f"9{sender.phone_number_id}"


def wait_template(org: OrgFixture, predicate: Any, **lookup: Any) -> Any:
    """Wait until the stored template matching `lookup` satisfies `predicate`; returns it."""
    from whatsapp.message_templates.models import MessageTemplate

    def ready() -> Any:
        with in_tenant(org):
            row = MessageTemplate.objects.filter(**lookup).first()
        return row if row is not None and predicate(row) else None

    return wait_for(ready, timeout=15)
