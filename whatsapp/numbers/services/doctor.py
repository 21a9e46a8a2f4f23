"""The number doctor: checks each connected number against Meta and stores what it found.

Per number: the token (valid, scopes, WABA in its granular scopes, expiry), the app's webhook
subscription, registration, quality rating, messaging limit, throughput level, status and when
the last webhook arrived, each with what to do about it. Pages read the stored `NumberCheckup`
and never call Graph; the beat task and the page's "Check now" call `number_checkup`.

Meta pages (debug_token, number fields and statuses, throughput, messaging limits):
https://developers.facebook.com/docs/graph-api/reference/debug_token
https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/
https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
https://developers.facebook.com/documentation/business-messaging/whatsapp/messaging-limits
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, PhoneNumber, WebhookChange
from whatsapp.graph.errors import GraphError
from whatsapp.graph.types import PhoneNumberHealth, TokenInfo
from whatsapp.numbers.models import NumberCheckup
from whatsapp.numbers.services.explain import explain
from whatsapp.services.meta_access import access_token_get, app_graph_client, graph_client_for_org

OK, WARN, BAD, UNKNOWN = "ok", "warn", "bad", "unknown"
TOKEN_EXPIRY_WARNING = timedelta(days=7)
QUIET_WEBHOOKS = timedelta(days=1)
STATUS_ADVICE = {
    "CONNECTED": (OK, "Nothing to do."),
    "FLAGGED": (
        WARN,
        "Quality is low: Meta may lower the messaging limit within 7 days. Send fewer "
        "marketing messages and only to people who asked for them.",
    ),
    "RESTRICTED": (
        BAD,
        "Meta restricted the number for quality: it can only answer customers for now. Check "
        "WhatsApp Manager's Account quality page.",
    ),
    "RATE_LIMITED": (WARN, "Meta is throttling the number; slow down sending."),
    "BANNED": (BAD, "Meta banned the number. Request a review in WhatsApp Manager."),
    "DISCONNECTED": (BAD, "The number is disconnected from the Cloud API. Register it again."),
    "PENDING": (WARN, "The number is not active yet (registration or review pending)."),
}
QUALITY_ADVICE = {
    "GREEN": (OK, "High quality."),
    "YELLOW": (WARN, "Medium quality: customers block or report some messages. Review them."),
    "RED": (
        BAD,
        "Low quality: customers block or report many messages; the number may be flagged. "
        "Pause marketing sends and review templates.",
    ),
}
THROUGHPUT_ADVICE = {
    "STANDARD": (OK, "Up to 80 messages per second."),
    "HIGH": (OK, "Up to 1,000 messages per second."),
    "NOT_APPLICABLE": (WARN, "No throughput until the number is registered."),
}


def _finding(key: str, label: str, value: str, level: str, advice: str) -> dict[str, str]:
    return {"key": key, "label": label, "value": value, "level": level, "advice": advice}


def number_checkup(*, organization: Organization, phone_number_id: str) -> NumberCheckup:
    """Check one number of `organization` now and store the findings (replacing the last
    check-up). Graph failures become "unknown" findings with Meta's reason; never raises
    GraphError. Raises PhoneNumber.DoesNotExist for a number the organization does not have."""
    number = PhoneNumber.objects.get(organization=organization, phone_number_id=phone_number_id)
    org_id = str(organization.org_id)
    findings = [*_token_findings(org_id, number.waba_id)]
    findings.append(_subscription_finding(org_id, number.waba_id))
    findings.extend(_health_findings(org_id, phone_number_id))
    findings.append(_webhook_finding(organization, number))
    checkup, _ = NumberCheckup.objects.update_or_create(
        phone_number_id=phone_number_id,
        defaults={
            "findings": findings,
            "problems": sum(1 for f in findings if f["level"] in (WARN, BAD, UNKNOWN)),
            "checked_at": timezone.now(),
        },
    )
    return checkup


def number_checkups_run(*, organization: Organization) -> int:
    """Check every number of `organization`; returns how many were checked."""
    ids = list(
        PhoneNumber.objects.filter(organization=organization).values_list(
            "phone_number_id", flat=True
        )
    )
    for phone_number_id in ids:
        number_checkup(organization=organization, phone_number_id=phone_number_id)
    return len(ids)


def _token_findings(org_id: str, waba_id: str) -> list[dict[str, str]]:
    label = "Access token"
    try:
        token = access_token_get(org_id=org_id)
    except CredentialMissingError:
        return [_finding("token", label, "none", BAD, "Connect the number to store a token.")]
    except CredentialInvalidError:
        return [
            _finding(
                "token",
                label,
                "invalid",
                BAD,
                "Sending is halted: Meta refused the token. Connect the number again.",
            )
        ]
    app_token = f"{settings.WHATSAPP_APP_ID}|{settings.WHATSAPP_APP_SECRET}"
    try:
        with app_graph_client() as client:
            info = client.debug_token(input_token=token, app_token=app_token)
    except GraphError as exc:
        return [_finding("token", label, "not checked", UNKNOWN, explain(exc, step="check"))]
    return [_token_validity(info), _token_scopes(info, waba_id), _token_expiry(info)]


def _token_validity(info: TokenInfo) -> dict[str, str]:
    if info.is_valid:
        return _finding("token", "Access token", f"valid ({info.type or 'token'})", OK, "")
    return _finding(
        "token",
        "Access token",
        "invalid",
        BAD,
        "Meta no longer accepts the token. Connect the number again to get a new one.",
    )


def _token_scopes(info: TokenInfo, waba_id: str) -> dict[str, str]:
    wanted = ("whatsapp_business_management", "whatsapp_business_messaging")
    missing = [s for s in wanted if s not in info.scopes]
    if not missing and info.granular_scopes:
        missing = [f"{s} on {waba_id}" for s in wanted if waba_id not in info.target_ids(s)]
    value = ", ".join(info.scopes) or "none"
    if missing:
        advice = (
            f"Missing {', '.join(missing)}: give the app access to the WhatsApp Business "
            "Account in Meta Business settings, or connect the number again."
        )
        return _finding("scopes", "Token permissions", value, BAD, advice)
    return _finding("scopes", "Token permissions", value, OK, "")


def _token_expiry(info: TokenInfo) -> dict[str, str]:
    if info.expires_at is None:
        return _finding("expiry", "Token expiry", "never", OK, "")
    left = info.expires_at - timezone.now()
    value = info.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if left <= timedelta(0):
        return _finding("expiry", "Token expiry", value, BAD, "Expired: connect the number again.")
    if left < TOKEN_EXPIRY_WARNING:
        advice = (
            "Expires within a week and is renewed automatically; if this stays, connect the "
            "number again with a system-user token that never expires."
        )
        return _finding("expiry", "Token expiry", value, WARN, advice)
    return _finding("expiry", "Token expiry", value, OK, "Renewed automatically before it ends.")


def _subscription_finding(org_id: str, waba_id: str) -> dict[str, str]:
    label = "Webhook subscription"
    try:
        with graph_client_for_org(org_id) as client:
            apps = client.subscribed_apps(waba_id)
    except (GraphError, CredentialInvalidError, CredentialMissingError) as exc:
        advice = explain(exc, step="check") if isinstance(exc, GraphError) else str(exc)
        return _finding("subscription", label, "not checked", UNKNOWN, advice)
    ours = [
        app
        for app in apps
        if str((app.get("whatsapp_business_api_data") or {}).get("id")) == settings.WHATSAPP_APP_ID
    ]
    if not ours:
        advice = (
            "The app is not subscribed to this account: no messages or receipts reach us. "
            "Resume or repeat the connection to subscribe it."
        )
        return _finding("subscription", label, "not subscribed", BAD, advice)
    override = ours[0].get("override_callback_uri")
    return _finding("subscription", label, f"subscribed ({override or 'app callback'})", OK, "")


def _health_findings(org_id: str, phone_number_id: str) -> list[dict[str, str]]:
    try:
        with graph_client_for_org(org_id) as client:
            health = client.phone_number_health(phone_number_id)
    except (GraphError, CredentialInvalidError, CredentialMissingError) as exc:
        advice = explain(exc, step="check") if isinstance(exc, GraphError) else str(exc)
        return [_finding("health", "Number status", "not checked", UNKNOWN, advice)]
    return _from_health(health)


def _from_health(health: PhoneNumberHealth) -> list[dict[str, str]]:
    registered = health.platform_type.upper() == "CLOUD_API"
    findings = [
        _finding(
            "registration",
            "Registration",
            "registered" if registered else health.platform_type or "not registered",
            OK if registered else BAD,
            "" if registered else "Register the number (resume its connection) to send.",
        )
    ]
    status = health.status.upper()
    level, advice = STATUS_ADVICE.get(status, (UNKNOWN, "Check the number in WhatsApp Manager."))
    if health.name_status.upper() == "PENDING_REVIEW":
        level = WARN
        advice = "Meta is reviewing the display name; the number can send once it is approved."
    status_value = f"{status or '?'} (name {health.name_status or '?'})"
    findings.append(_finding("status", "Status", status_value, level, advice))
    quality = health.quality_rating.upper()
    level, advice = QUALITY_ADVICE.get(quality, (UNKNOWN, "Meta has not rated the number yet."))
    findings.append(_finding("quality", "Quality rating", quality or "?", level, advice))
    limit = health.messaging_limit.upper()
    limit_advice = (
        "Grows automatically with good quality and volume; verifying the business raises it."
        if limit in ("TIER_250", "TIER_50")
        else ""
    )
    findings.append(
        _finding(
            "limit",
            "Messaging limit",
            limit or "?",
            WARN if limit_advice else (OK if limit else UNKNOWN),
            limit_advice,
        )
    )
    throughput = health.throughput_level.upper()
    level, advice = THROUGHPUT_ADVICE.get(throughput, (UNKNOWN, ""))
    findings.append(_finding("throughput", "Throughput", throughput or "?", level, advice))
    return findings


def _webhook_finding(organization: Organization, number: PhoneNumber) -> dict[str, Any]:
    last: datetime | None = WebhookChange.objects.filter(
        Q(phone_number_id=number.phone_number_id) | Q(waba_id=number.waba_id),
        organization=organization,
    ).aggregate(last=Max("created_at"))["last"]
    label = "Last webhook"
    if last is None:
        advice = (
            "No webhook from Meta yet. If customers have written, check the subscription above."
        )
        return _finding("webhook", label, "never", WARN, advice)
    value = last.strftime("%Y-%m-%d %H:%M UTC")
    if timezone.now() - last > QUIET_WEBHOOKS:
        advice = "Nothing for over a day: fine if the number is quiet, else check the subscription."
        return _finding("webhook", label, value, WARN, advice)
    return _finding("webhook", label, value, OK, "")
