"""The doctor's beat task through a real Celery worker: the public-schema dispatcher fans out one
task per organization with numbers, each checks its numbers in its own schema."""

from __future__ import annotations

import pytest

from tests.conftest import in_tenant, wait_for
from whatsapp.numbers.models import NumberCheckup
from whatsapp.numbers.services.manual import number_connect_manual
from whatsapp.numbers.tasks import number_checkups_task

pytestmark = pytest.mark.integration


def test_beat_dispatch_checks_each_organizations_numbers_in_its_schema(
    live_db, org_a, org_b, sandbox, celery_worker
):
    sandbox.register_phone_number("109000000000081", waba_id="209000000000081")
    with in_tenant(org_a):
        number_connect_manual(
            organization=org_a.organization,
            phone_number_id="109000000000081",
            waba_id="209000000000081",
            access_token=sandbox.issue_token(),
        )
    number_checkups_task.delay()  # as beat does, from the public schema

    def checked():
        with in_tenant(org_a):
            return list(NumberCheckup.objects.values_list("phone_number_id", flat=True))

    assert wait_for(checked) == ["109000000000081"]
    with in_tenant(org_b):
        assert not NumberCheckup.objects.exists()
