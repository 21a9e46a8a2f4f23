"""Manual connect (checked against Graph before saving) and the number doctor, against the
sandbox over real HTTP in real schemas (`db`: rows rolled back; Graph calls touch no rows)."""

from __future__ import annotations

import pytest

from tenants.models import PhoneNumber, WhatsAppCredential
from tests.conftest import in_tenant
from tests.numbers.conftest import code_exchange
from whatsapp.numbers.errors import NumberConnectError
from whatsapp.numbers.models import NumberCheckup
from whatsapp.numbers.services.doctor import number_checkup
from whatsapp.numbers.services.manual import number_connect_manual

pytestmark = pytest.mark.integration
PNID, WABA = "109000000000001", "209000000000001"


@pytest.fixture
def meta_number(sandbox):
    sandbox.register_phone_number(PNID, waba_id=WABA, display_phone_number="15550009999")
    return sandbox.issue_token()


def connect(org, token: str, *, pnid: str = PNID, waba: str = WABA) -> PhoneNumber:
    with in_tenant(org):
        return number_connect_manual(
            organization=org.organization, phone_number_id=pnid, waba_id=waba, access_token=token
        )


def findings(checkup: NumberCheckup) -> dict[str, tuple[str, str]]:
    return {f["key"]: (f["level"], f["value"]) for f in checkup.findings}


def test_manual_connect_checks_then_stores_routes_and_subscribes(db, org_a, sandbox, meta_number):
    number = connect(org_a, meta_number)
    assert number.organization == org_a.organization
    assert number.display_number == "15550009999"
    credential = WhatsAppCredential.objects.get(organization=org_a.organization)
    assert meta_number not in credential.encrypted_token
    assert WABA in sandbox.subscriptions()


def test_manual_connect_refuses_a_revoked_token_and_saves_nothing(db, org_a, sandbox, meta_number):
    sandbox.revoke_token("EAAbad-token")
    with pytest.raises(NumberConnectError) as refused:
        connect(org_a, "EAAbad-token")
    assert refused.value.field == "access_token"
    assert "does not accept this token" in refused.value.message
    assert not PhoneNumber.objects.filter(phone_number_id=PNID).exists()
    assert not WhatsAppCredential.objects.filter(organization=org_a.organization).exists()


def test_manual_connect_refuses_unknown_number_and_bad_ids(db, org_a, sandbox, meta_number):
    with pytest.raises(NumberConnectError) as unknown:
        connect(org_a, meta_number, pnid="109999999999999")
    assert unknown.value.field == "phone_number_id"
    assert "WhatsApp Manager" in unknown.value.message
    with pytest.raises(NumberConnectError) as bad:
        connect(org_a, meta_number, waba="abc")
    assert bad.value.field == "waba_id"
    assert not PhoneNumber.objects.filter(organization=org_a.organization).exists()


def test_manual_connect_refuses_a_token_without_the_waba(db, org_a, sandbox, meta_number):
    signup = sandbox.signup_code()  # a business token scoped to another WABA
    token = code_exchange(signup["code"]).json()["access_token"]
    with pytest.raises(NumberConnectError) as refused:
        connect(org_a, token)
    assert refused.value.field == "waba_id" and WABA in refused.value.message


def test_manual_connect_of_a_number_owned_by_another_org(db, org_a, org_b, sandbox, meta_number):
    connect(org_a, meta_number)
    with pytest.raises(NumberConnectError) as refused:
        connect(org_b, meta_number)
    assert "another organization" in refused.value.message
    assert PhoneNumber.objects.get(phone_number_id=PNID).organization == org_a.organization


def test_doctor_healthy_number(db, org_a, sandbox, meta_number):
    connect(org_a, meta_number)
    sandbox.register_phone_number(PNID, waba_id=WABA)  # registered for Cloud API
    with in_tenant(org_a):
        checkup = number_checkup(organization=org_a.organization, phone_number_id=PNID)
    found = findings(checkup)
    assert found["token"] == ("ok", "valid (SYSTEM_USER)")
    assert found["expiry"] == ("ok", "never")
    assert found["scopes"][0] == "ok"
    assert found["subscription"][0] == "ok"
    assert found["registration"] == ("ok", "registered")
    assert found["status"][0] == "ok" and found["quality"] == ("ok", "GREEN")
    assert found["throughput"] == ("ok", "STANDARD")
    assert found["limit"] == ("warn", "TIER_250")
    assert found["webhook"] == ("warn", "never")
    assert checkup.problems == 2


def test_doctor_reports_problems_with_advice(db, org_a, sandbox, meta_number):
    connect(org_a, meta_number)
    sandbox.set_number_health(PNID, status="FLAGGED", quality_rating="RED")
    with in_tenant(org_a):
        checkup = number_checkup(organization=org_a.organization, phone_number_id=PNID)
    by_key = {f["key"]: f for f in checkup.findings}
    assert by_key["status"]["level"] == "warn" and "messaging limit" in by_key["status"]["advice"]
    assert by_key["quality"]["level"] == "bad"
    sandbox.revoke_token(meta_number)
    with in_tenant(org_a):
        checkup = number_checkup(organization=org_a.organization, phone_number_id=PNID)
    by_key = {f["key"]: f for f in checkup.findings}
    assert by_key["token"]["level"] == "bad"
    assert "Connect the number again" in by_key["token"]["advice"]
    with in_tenant(org_a):
        assert NumberCheckup.objects.count() == 1  # replaced, not added


def test_doctor_is_per_organization(db, org_a, org_b, sandbox, meta_number):
    connect(org_a, meta_number)
    with in_tenant(org_b), pytest.raises(PhoneNumber.DoesNotExist):
        number_checkup(organization=org_b.organization, phone_number_id=PNID)
    with in_tenant(org_a):
        number_checkup(organization=org_a.organization, phone_number_id=PNID)
    with in_tenant(org_b):
        assert not NumberCheckup.objects.exists()
