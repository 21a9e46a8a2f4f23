"""Connecting a number by hand: phone number id, WABA id and a system-user token, checked
against Graph before anything is saved.

Checks, in order: the token is valid and carries both WhatsApp permissions with the WABA in its
granular scopes (debug_token, https://developers.facebook.com/docs/graph-api/reference/debug_token);
the number answers with that token (GET /{phone-number-id}); then the token is stored encrypted,
the number routed to the organization and the app subscribed to the WABA's webhooks.
"""

from __future__ import annotations

from django.conf import settings

from tenants.errors import OnboardingError, PlanLimitError
from tenants.models import Organization, PhoneNumber
from tenants.services.credentials import credential_store
from tenants.services.routing import phone_number_connect
from whatsapp.graph.errors import GraphError
from whatsapp.numbers.errors import NumberConnectError
from whatsapp.numbers.services.explain import explain
from whatsapp.services.meta_access import app_graph_client, graph_client_for_token

SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")


def number_connect_manual(
    *, organization: Organization, phone_number_id: str, waba_id: str, access_token: str
) -> PhoneNumber:
    """Check the three values against Graph, then store and connect. Raises
    NumberConnectError (field-tagged, plain words) and saves nothing when a check fails."""
    phone_number_id, waba_id, token = phone_number_id.strip(), waba_id.strip(), access_token.strip()
    if not phone_number_id.isdigit():
        raise NumberConnectError(
            "The phone number id is Meta's numeric id.", field="phone_number_id"
        )
    if not waba_id.isdigit():
        raise NumberConnectError("The WABA id is Meta's numeric id.", field="waba_id")
    app_token = f"{settings.WHATSAPP_APP_ID}|{settings.WHATSAPP_APP_SECRET}"
    try:
        with app_graph_client() as client:
            info = client.debug_token(input_token=token, app_token=app_token)
    except GraphError as exc:
        raise NumberConnectError(explain(exc, step="check"), field="access_token") from None
    if not info.is_valid:
        raise NumberConnectError(
            "Meta does not accept this token (expired or revoked). Generate a system-user token "
            "in Meta Business settings and paste it here.",
            field="access_token",
        )
    missing = [scope for scope in SCOPES if scope not in info.scopes]
    if missing:
        raise NumberConnectError(
            f"The token lacks the permission(s) {', '.join(missing)}. Generate it again with both "
            "WhatsApp permissions.",
            field="access_token",
        )
    if info.granular_scopes and any(waba_id not in info.target_ids(s) for s in SCOPES):
        raise NumberConnectError(
            f"The token has no access to the WhatsApp Business Account {waba_id}. Assign the "
            "account to the system user in Meta Business settings, or check the WABA id.",
            field="waba_id",
        )
    try:
        with graph_client_for_token(token) as client:
            health = client.phone_number_health(phone_number_id)
    except GraphError as exc:
        problem = explain(exc, step="check")
        if exc.code == 100:
            problem = (
                "Meta knows no phone number with this id that the token can see. Copy the "
                "phone number id from WhatsApp Manager (API setup)."
            )
        raise NumberConnectError(problem, field="phone_number_id") from None
    try:
        number = phone_number_connect(
            organization=organization,
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            display_number=health.display_phone_number.lstrip("+"),
        )
    except OnboardingError as exc:
        raise NumberConnectError(str(exc), field="phone_number_id") from None
    except PlanLimitError as exc:  # the plan's connected numbers are taken
        raise NumberConnectError(
            f"{exc} Upgrade the plan or disconnect a number first.", field="phone_number_id"
        ) from None
    credential_store(organization=organization, access_token=token, expires_at=info.expires_at)
    try:
        with graph_client_for_token(token) as client:
            client.subscribe_app(waba_id)
    except GraphError as exc:
        raise NumberConnectError(
            "The number is saved, but subscribing the app to the account's webhooks failed: "
            + explain(exc, step="subscribe"),
        ) from None
    return number
