"""Embedded Signup's server side end to end: the state machine against the sandbox over real
HTTP, with committed rows, the platform's webhook endpoint and the webhook worker (Meta's
`account_update` finishes the run), real PostgreSQL schemas."""

from __future__ import annotations

import pytest

from tenants.crypto import decrypt_secret
from tenants.models import PhoneNumber, WhatsAppCredential
from tests.conftest import in_tenant, wait_for
from tests.numbers.conftest import code_exchange
from whatsapp.numbers.models import NumberOnboarding
from whatsapp.numbers.services.onboarding import onboarding_resume, onboarding_start

pytestmark = pytest.mark.integration
Step, State = NumberOnboarding.Step, NumberOnboarding.State
CUSTOMER = "15550001234"


@pytest.fixture
def signup_env(live_db, sandbox, webhook_worker, settings):
    settings.WHATSAPP_WEBHOOK_CALLBACK_URL = "https://platform.example/webhooks/whatsapp/"
    return sandbox


def start(org, sandbox, signup=None, **spec):
    """Run `onboarding_start` in `org` with a new signup code (or `signup`'s)."""
    signup = signup or sandbox.signup_code(**spec)
    with in_tenant(org):
        run = onboarding_start(
            organization=org.organization,
            code=signup["code"],
            waba_id=signup["waba_id"],
            phone_number_id=signup["phone_number_id"],
            business_id=signup["business_id"],
            test_recipient=CUSTOMER,
        )
    return signup, run


def reload(org, run) -> NumberOnboarding:
    with in_tenant(org):
        return NumberOnboarding.objects.get(pk=run.pk)


def test_signup_runs_every_step_and_finishes_on_account_update(org_a, signup_env):
    sandbox = signup_env
    signup, run = start(org_a, sandbox)
    assert run.state in (State.WAITING, State.DONE), run.problem
    done = wait_for(lambda: reload(org_a, run).state == State.DONE and reload(org_a, run))
    assert [entry["step"] for entry in done.steps] == [
        "code_exchange",
        "waba_scope",
        "subscribe",
        "override",
        "register",
        "test_message",
        "account_update",
    ]
    assert all(entry["ok"] for entry in done.steps)
    # Meta's side: subscribed with our callback, registered with the run's PIN, hello_world sent.
    waba = signup["waba_id"]
    assert sandbox.subscriptions()[waba]["override_callback_uri"].startswith("https://platform")
    number = sandbox.phone_numbers()[signup["phone_number_id"]]
    assert number["registered"]
    assert decrypt_secret(done.encrypted_pin, owner=org_a.org_id) == number["pin"]
    assert number["pin"] not in done.encrypted_pin
    sent = sandbox.sent_messages(signup["phone_number_id"])
    assert [m["body"]["template"]["name"] for m in sent] == ["hello_world"]
    # Ours: the token stored encrypted for the org, the number routed to it.
    credential = WhatsAppCredential.objects.get(organization=org_a.organization)
    assert credential.state == WhatsAppCredential.State.VALID
    routed = PhoneNumber.objects.get(phone_number_id=signup["phone_number_id"])
    assert routed.organization == org_a.organization and routed.waba_id == waba
    # No step's answer carries the token.
    assert "access_token" not in str(done.steps)


def test_register_refused_with_133005_is_explained_then_resumed(org_a, signup_env):
    sandbox = signup_env
    sandbox.add_fault("error_code", code=133005, path_regex="/register$")
    _, run = start(org_a, sandbox)
    assert run.state == State.FAILED and run.step == Step.REGISTER
    assert run.error_code == 133005
    assert "two-step verification" in run.problem
    assert run.steps[-1] == run.steps[-1] | {"step": "register", "ok": False}
    with in_tenant(org_a):
        resumed = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert resumed.state in (State.WAITING, State.DONE), resumed.problem
    wait_for(lambda: reload(org_a, run).state == State.DONE)
    registers = sandbox.requests(path_contains="/register")
    assert len(registers) == 2  # the same PIN both times
    assert registers[0]["body"]["pin"] == registers[1]["body"]["pin"]


def test_missing_waba_scope_stops_before_anything_is_subscribed(org_a, signup_env):
    sandbox = signup_env
    sandbox.update_config(signup_grant_waba_scope=False)
    signup, run = start(org_a, sandbox)
    assert run.state == State.FAILED and run.step == Step.WABA_SCOPE
    assert signup["waba_id"] in run.problem and "access" in run.problem
    assert sandbox.subscriptions() == {}
    assert not PhoneNumber.objects.filter(phone_number_id=signup["phone_number_id"]).exists()


def test_override_refused_goes_back_to_the_plain_subscription(org_a, signup_env):
    sandbox = signup_env
    sandbox.add_fault("error_code", code=100, path_regex="/subscribed_apps$", count=1)
    _, run = start(org_a, sandbox)
    # The plain subscription itself was refused with 100 here: not the override's case.
    assert run.state == State.FAILED and run.step == Step.SUBSCRIBE
    sandbox.add_fault("error_code", code=100, path_regex="/subscribed_apps$", count=1)
    with in_tenant(org_a):
        again = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert again.step == Step.SUBSCRIBE
    with in_tenant(org_a):
        run.refresh_from_db()
        run.step = Step.OVERRIDE
        run.save()
    sandbox.add_fault("error_code", code=100, path_regex="/subscribed_apps$", count=1)
    with in_tenant(org_a):
        failed = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert failed.state == State.FAILED and failed.step == Step.SUBSCRIBE
    assert "subscribed" in failed.problem
    with in_tenant(org_a):
        finished = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert finished.state in (State.WAITING, State.DONE), finished.problem


@pytest.mark.parametrize("code", [133015, 133016])
def test_register_waits_explained(org_a, signup_env, code):
    sandbox = signup_env
    sandbox.add_fault("error_code", code=code, path_regex="/register$")
    _, run = start(org_a, sandbox)
    assert run.state == State.FAILED and run.error_code == code
    assert "Resume" in run.problem and ("minutes" in run.problem or "hours" in run.problem)


def test_number_in_review_stops_before_the_test_message(org_a, signup_env):
    sandbox = signup_env
    signup = sandbox.signup_code()
    sandbox.set_number_health(signup["phone_number_id"], name_status="PENDING_REVIEW")
    _, run = start(org_a, sandbox, signup)
    assert run.state == State.FAILED and run.step == Step.TEST_MESSAGE
    assert "reviewing" in run.problem
    assert sandbox.sent_messages(signup["phone_number_id"]) == []
    sandbox.set_number_health(signup["phone_number_id"], name_status="APPROVED")
    with in_tenant(org_a):
        resumed = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert resumed.step in (Step.ACCOUNT_UPDATE, Step.DONE)


def test_spent_code_fails_at_the_exchange_and_cannot_resume(org_a, signup_env):
    sandbox = signup_env
    signup = sandbox.signup_code()
    code_exchange(signup["code"])  # someone else used the code first
    _, run = start(org_a, sandbox, signup)
    assert run.state == State.FAILED and run.step == Step.CODE_EXCHANGE
    assert "signup again" in run.problem
    with in_tenant(org_a):
        again = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert again.state == State.FAILED


def test_other_tenant_sees_no_run(org_a, org_b, signup_env):
    _, run = start(org_a, signup_env)
    with in_tenant(org_b):
        assert not NumberOnboarding.objects.filter(pk=run.pk).exists()
        with pytest.raises(NumberOnboarding.DoesNotExist):
            onboarding_resume(organization=org_b.organization, onboarding_id=run.pk)


def test_number_of_another_org_is_refused(org_a, org_b, signup_env):
    sandbox = signup_env
    signup, _ = start(org_a, sandbox)
    again = sandbox.signup_code(
        phone_number_id=signup["phone_number_id"], waba_id=signup["waba_id"]
    )
    _, other = start(org_b, sandbox, again)
    assert other.state == State.FAILED and other.step == Step.SUBSCRIBE
    assert "another organization" in other.problem
    routed = PhoneNumber.objects.get(phone_number_id=signup["phone_number_id"])
    assert routed.organization == org_a.organization


def test_a_resume_while_another_runs_does_nothing(org_a, signup_env):
    sandbox = signup_env
    sandbox.add_fault("error_code", code=133015, path_regex="/register$")
    _, run = start(org_a, sandbox)
    assert run.state == State.FAILED
    with in_tenant(org_a):
        NumberOnboarding.objects.filter(pk=run.pk).update(state=State.RUNNING)  # another request
        again = onboarding_resume(organization=org_a.organization, onboarding_id=run.pk)
    assert again.step == Step.REGISTER
    assert len(sandbox.requests(path_contains="/register")) == 1  # not tried a second time
