"""Embedded Signup on the server: a resumable state machine, one Graph step at a time.

Order (Meta: "Onboarding customers as a Tech Provider",
https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider):
code exchanged -> WABA in the token's granular scopes (debug_token) -> app subscribed to the
WABA (plain) -> callback override (only after the plain subscription, or Meta answers 100) ->
number registered with a generated 6-digit PIN -> test message (`hello_world`) -> Meta's
`account_update` webhook seen. Each attempt is logged on the run with Meta's answer; a refusal
stops the run at that step with the reason in plain words, and `onboarding_resume` starts again
there. Each step commits on its own, so webhooks that follow a step see its rows.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tenants.crypto import decrypt_secret, encrypt_secret
from tenants.errors import OnboardingError, PlanLimitError
from tenants.models import AccountEvent, Organization
from tenants.services.credentials import credential_store
from tenants.services.routing import phone_number_connect
from whatsapp.graph.errors import GraphError
from whatsapp.numbers.models import NumberOnboarding
from whatsapp.numbers.services.explain import explain
from whatsapp.services.meta_access import access_token_get, app_graph_client, graph_client_for_org

logger = logging.getLogger(__name__)
Step = NumberOnboarding.Step
State = NumberOnboarding.State
ORDER = [
    Step.CODE_EXCHANGE,
    Step.WABA_SCOPE,
    Step.SUBSCRIBE,
    Step.OVERRIDE,
    Step.REGISTER,
    Step.TEST_MESSAGE,
    Step.ACCOUNT_UPDATE,
    Step.DONE,
]
WABA_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")
STALE_RUN = timedelta(minutes=5)
TEST_TEMPLATE = {"name": "hello_world", "language": {"code": "en_US"}}


class StepFailed(Exception):
    """A step's refusal in plain words (with Meta's code when Meta refused)."""

    def __init__(self, problem: str, *, code: int | None = None, answer: Any = None) -> None:
        super().__init__(problem)
        self.problem, self.code, self.answer = problem, code, answer


class StepWaiting(Exception):
    """The step waits for Meta (a webhook, a review): not a failure, resumable later."""


def onboarding_start(
    *,
    organization: Organization,
    code: str,
    waba_id: str,
    phone_number_id: str,
    business_id: str = "",
    test_recipient: str = "",
    created_by: str = "",
) -> NumberOnboarding:
    """Record a finished Embedded Signup and run its steps as far as they go.

    `code` is the login code from Meta's SDK (used at once, never stored); the ids come from
    the `WA_EMBEDDED_SIGNUP` FINISH message. Returns the run: DONE, WAITING (for Meta's
    `account_update`) or FAILED at a step with `problem` in plain words.
    """
    run = NumberOnboarding.objects.create(
        waba_id=waba_id.strip(),
        phone_number_id=phone_number_id.strip(),
        business_id=business_id.strip(),
        test_recipient="".join(ch for ch in test_recipient if ch.isdigit()),
        created_by=created_by,
    )
    try:
        with app_graph_client() as client:
            exchanged = client.exchange_code(
                app_id=settings.WHATSAPP_APP_ID,
                app_secret=settings.WHATSAPP_APP_SECRET,
                code=code.strip(),
            )
    except GraphError as exc:
        _fail(run, Step.CODE_EXCHANGE, exc)
        return run
    credential_store(
        organization=organization,
        access_token=exchanged.access_token,
        expires_at=exchanged.expires_at(),
    )
    _log(run, Step.CODE_EXCHANGE, ok=True, answer=dict(exchanged.raw))
    run.step = Step.WABA_SCOPE
    run.save(update_fields=["steps", "step", "updated_at"])
    return onboarding_advance(organization=organization, onboarding=run)


def onboarding_resume(*, organization: Organization, onboarding_id: int) -> NumberOnboarding:
    """Run a FAILED or WAITING run again from its current step. A run that failed at the code
    exchange cannot resume (the code is spent): the signup must be run again."""
    run = NumberOnboarding.objects.get(pk=onboarding_id)
    if run.state == State.DONE or run.step == Step.CODE_EXCHANGE:
        return run
    # One resume at a time (a double click must not send two test messages): claim the run
    # unless another request is on it; a RUNNING run untouched for minutes lost its request.
    claimed = (
        NumberOnboarding.objects.filter(pk=run.pk)
        .filter(
            Q(state__in=[State.FAILED, State.WAITING])
            | Q(state=State.RUNNING, updated_at__lt=timezone.now() - STALE_RUN)
        )
        .update(state=State.RUNNING, updated_at=timezone.now())
    )
    if not claimed:
        return run
    return onboarding_advance(organization=organization, onboarding=run)


def onboarding_advance(*, organization: Organization, onboarding: NumberOnboarding):
    """Run the steps from `onboarding.step` until one fails or waits, or the run is done."""
    run = onboarding
    org_id = str(organization.org_id)
    steps: dict[str, Callable[[NumberOnboarding], Any]] = {
        Step.WABA_SCOPE: lambda r: _waba_scope(r, org_id),
        Step.SUBSCRIBE: lambda r: _subscribe(r, organization),
        Step.OVERRIDE: lambda r: _override(r, org_id),
        Step.REGISTER: lambda r: _register(r, org_id),
        Step.TEST_MESSAGE: lambda r: _test_message(r, org_id),
        Step.ACCOUNT_UPDATE: lambda r: _account_update(r, organization),
    }
    run.state, run.problem, run.error_code = State.RUNNING, "", None
    run.save(update_fields=["state", "problem", "error_code", "updated_at"])
    while run.step != Step.DONE:
        step = run.step
        try:
            answer = steps[step](run)
        except StepWaiting as waiting:
            run.state, run.problem = State.WAITING, str(waiting)
            run.save(update_fields=["state", "problem", "updated_at"])
            return run
        except StepFailed as failed:
            _log(run, step, ok=False, answer=failed.answer, error=failed.problem)
            run.state, run.problem, run.error_code = State.FAILED, failed.problem, failed.code
            run.save(update_fields=["state", "problem", "error_code", "steps", "updated_at"])
            return run
        except GraphError as exc:
            _fail(run, step, exc)
            if step == Step.OVERRIDE and exc.code == 100:
                run.step = Step.SUBSCRIBE  # Meta says: subscribe first; resume does that
                run.save(update_fields=["step", "updated_at"])
            return run
        _log(run, step, ok=True, answer=answer)
        run.step = ORDER[ORDER.index(step) + 1]
        run.save(update_fields=["steps", "step", "updated_at"])
    run.state = State.DONE
    run.save(update_fields=["state", "updated_at"])
    logger.info("number onboarded: org_id=%s phone_number_id=%s", org_id, run.phone_number_id)
    return run


def onboarding_account_update_seen(*, waba_ids: list[str], organization: Organization) -> int:
    """Finish the runs waiting for Meta's `account_update` of these WABAs (called by the
    webhook handler); returns how many finished."""
    runs = NumberOnboarding.objects.filter(
        waba_id__in=waba_ids, step=Step.ACCOUNT_UPDATE, state__in=[State.WAITING, State.RUNNING]
    )
    finished = 0
    for run in runs:
        _log(run, Step.ACCOUNT_UPDATE, ok=True, answer={"webhook": "account_update"})
        run.step, run.state, run.problem = Step.DONE, State.DONE, ""
        run.save(update_fields=["steps", "step", "state", "problem", "updated_at"])
        finished += 1
    return finished


# --- the steps ---------------------------------------------------------------------------------


def _waba_scope(run: NumberOnboarding, org_id: str) -> dict[str, Any]:
    app_token = f"{settings.WHATSAPP_APP_ID}|{settings.WHATSAPP_APP_SECRET}"
    with app_graph_client() as client:
        info = client.debug_token(input_token=access_token_get(org_id=org_id), app_token=app_token)
    answer = {
        "is_valid": info.is_valid,
        "scopes": list(info.scopes),
        "granular_scopes": [dict(g) for g in info.granular_scopes],
    }
    if not info.is_valid:
        raise StepFailed(
            "Meta says the token from the signup is not valid. Run the signup again.",
            code=190,
            answer=answer,
        )
    missing = [scope for scope in WABA_SCOPES if run.waba_id not in info.target_ids(scope)]
    if missing:
        raise StepFailed(
            f"You did not give this platform access to the WhatsApp Business Account "
            f"{run.waba_id} (missing: {', '.join(missing)}). In Meta Business settings, give "
            "the app access to that account (or run the signup again and select it), then resume.",
            answer=answer,
        )
    return answer


def _subscribe(run: NumberOnboarding, organization: Organization) -> dict[str, Any]:
    org_id = str(organization.org_id)
    with graph_client_for_org(org_id) as client:
        health = client.phone_number_health(run.phone_number_id)
        try:
            phone_number_connect(
                organization=organization,
                phone_number_id=run.phone_number_id,
                waba_id=run.waba_id,
                display_number=health.display_phone_number.lstrip("+"),
            )
        except OnboardingError as exc:
            raise StepFailed(f"{exc}. This number cannot be connected here.") from None
        except PlanLimitError as exc:  # the plan's connected numbers are taken
            raise StepFailed(f"{exc} Upgrade the plan, then resume.") from None
        client.subscribe_app(run.waba_id)
    return {"success": True, "display_phone_number": health.display_phone_number}


def _override(run: NumberOnboarding, org_id: str) -> dict[str, Any]:
    with graph_client_for_org(org_id) as client:
        client.subscribe_app(
            run.waba_id,
            override_callback_uri=settings.WHATSAPP_WEBHOOK_CALLBACK_URL,
            verify_token=settings.WHATSAPP_VERIFY_TOKEN,
        )
    return {"success": True, "override_callback_uri": settings.WHATSAPP_WEBHOOK_CALLBACK_URL}


def _register(run: NumberOnboarding, org_id: str) -> dict[str, Any]:
    if not run.encrypted_pin:
        pin = f"{secrets.randbelow(10**6):06d}"
        run.encrypted_pin = encrypt_secret(pin, owner=org_id)
        run.save(update_fields=["encrypted_pin", "updated_at"])
    pin = decrypt_secret(run.encrypted_pin, owner=org_id)
    with graph_client_for_org(org_id) as client:
        client.register_phone_number(run.phone_number_id, pin=pin)
    return {"success": True}


def _test_message(run: NumberOnboarding, org_id: str) -> dict[str, Any]:
    with graph_client_for_org(org_id) as client:
        health = client.phone_number_health(run.phone_number_id)
        if health.name_status.upper() == "PENDING_REVIEW" or health.status.upper() == "PENDING":
            raise StepFailed(
                "Meta is still reviewing this number's display name, so it cannot send yet. "
                "Reviews usually take a day or two; resume once WhatsApp Manager shows the name "
                "approved (the number doctor checks it too).",
                answer={"status": health.status, "name_status": health.name_status},
            )
        if not run.test_recipient:
            return {"skipped": "no test recipient given"}
        sent = client.send_message(
            run.phone_number_id,
            {
                "messaging_product": "whatsapp",
                "to": run.test_recipient,
                "type": "template",
                "template": TEST_TEMPLATE,
            },
        )
    return {"wamid": sent.wamid}


def _account_update(run: NumberOnboarding, organization: Organization) -> dict[str, Any]:
    seen = AccountEvent.objects.filter(
        organization=organization, field="account_update", waba_id=run.waba_id
    ).exists()
    if not seen:
        raise StepWaiting(
            "Waiting for Meta to confirm the account (its account_update webhook); this page "
            "updates by itself."
        )
    return {"webhook": "account_update"}


# --- the log -----------------------------------------------------------------------------------


def _log(
    run: NumberOnboarding, step: str, *, ok: bool, answer: Any = None, error: str = ""
) -> None:
    entry: dict[str, Any] = {"step": str(step), "ok": ok, "at": timezone.now().isoformat()}
    if answer is not None:
        entry["answer"] = answer
    if error:
        entry["error"] = error
    run.steps = [*run.steps, entry]


def _fail(run: NumberOnboarding, step: str, exc: GraphError) -> None:
    problem = explain(exc, step=str(step))
    answer = {"code": exc.code, "subcode": exc.subcode, "message": exc.message}
    _log(run, step, ok=False, answer={"error": answer}, error=problem)
    run.step, run.state, run.problem, run.error_code = step, State.FAILED, problem, exc.code
    run.save(update_fields=["steps", "step", "state", "problem", "error_code", "updated_at"])
    logger.warning(
        "number onboarding failed: phone_number_id=%s step=%s code=%s",
        run.phone_number_id,
        step,
        exc.code,
    )
