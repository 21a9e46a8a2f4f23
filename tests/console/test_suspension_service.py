"""tenants.services.suspension: the rules the console's buttons rely on."""

from __future__ import annotations

import pytest

from tenants.errors import SuspensionError
from tenants.models import Organization, OrganizationSuspension
from tenants.services.offboarding import organization_delete
from tenants.services.suspension import organization_reactivate, organization_suspend

pytestmark = pytest.mark.django_db


def test_suspend_twice_or_without_reason_or_category_is_refused(org_a, staff_user):
    with pytest.raises(SuspensionError, match="reason"):
        organization_suspend(
            organization=org_a.organization, actor=staff_user, category="abuse", reason=" "
        )
    with pytest.raises(SuspensionError, match="category"):
        organization_suspend(
            organization=org_a.organization, actor=staff_user, category="bored", reason="x"
        )
    organization_suspend(
        organization=org_a.organization, actor=staff_user, category="abuse", reason="spam"
    )
    with pytest.raises(SuspensionError, match="already suspended"):
        organization_suspend(
            organization=org_a.organization, actor=staff_user, category="abuse", reason="again"
        )
    assert OrganizationSuspension.objects.filter(organization=org_a.organization).count() == 1


def test_reactivate_rules(org_a, org_b, staff_user):
    with pytest.raises(SuspensionError, match="not suspended"):
        organization_reactivate(organization=org_a.organization, actor=staff_user, reason="x")
    organization_delete(organization=org_b.organization, actor=staff_user, reason="leaving")
    with pytest.raises(SuspensionError, match="cancel the deletion"):
        organization_reactivate(organization=org_b.organization, actor=staff_user, reason="x")
    assert Organization.objects.get(pk=org_b.organization.pk).status == "suspended"


def test_history_keeps_every_suspension(org_a, staff_user):
    for n in range(2):
        organization_suspend(
            organization=org_a.organization, actor=staff_user, category="other", reason=f"s{n}"
        )
        organization_reactivate(organization=org_a.organization, actor=staff_user, reason=f"r{n}")
    history = list(
        OrganizationSuspension.objects.filter(organization=org_a.organization).values_list(
            "reason", "reactivation_reason"
        )
    )
    assert sorted(history) == [("s0", "r0"), ("s1", "r1")]


def test_public_schema_cannot_be_suspended(staff_user):
    public = Organization.objects.get(schema_name="public")
    with pytest.raises(SuspensionError):
        organization_suspend(organization=public, actor=staff_user, category="other", reason="x")
