"""Meta's refusals during onboarding and check-ups, in plain words with what to do.

Meta pages (error codes, registration):
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
https://developers.secure.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/register
"""

from __future__ import annotations

from whatsapp.graph.errors import GraphError

UNREACHABLE = "Meta could not be reached (network error or timeout). Resume in a minute."

# Meta's code -> what happened and what to do, whatever the step.
BY_CODE: dict[int, str] = {
    190: "Meta no longer accepts the access token (expired, revoked, or the password of the "
    "person who created it changed). Connect the number again to get a new token.",
    200: "The token has no permission on this WhatsApp Business Account. In Meta Business "
    "settings, give the app (or the system user) access to the account, then resume.",
    10: "The app lacks a WhatsApp permission. Allow both WhatsApp permissions during signup, "
    "then resume.",
    133005: "The number already has a two-step verification PIN that is not ours. Turn off "
    "two-step verification for it in WhatsApp Manager (Phone numbers, Two-step "
    "verification), then resume.",
    133006: "Meta wants the number verified again. Verify it with a code in WhatsApp Manager, "
    "then resume.",
    133009: "The PIN was tried too quickly after the previous attempt. Wait a minute, then resume.",
    133010: "The number is not registered with the Cloud API yet. Resume to register it.",
    133015: "The number was deleted or registered very recently and Meta asks to wait a few "
    "minutes before registering it. Resume in a few minutes.",
    133016: "There were too many registration attempts for this number, so Meta blocks new "
    "ones for a while (up to a few hours). Resume later.",
    131031: "Meta has locked the business account. Check Business Support Home in Meta "
    "Business Suite.",
    4: "Too many calls to Meta for this app right now. Resume in a few minutes.",
    80007: "Too many calls to Meta for this account right now. Resume in a few minutes.",
}

# A code-100 answer means something else at each step.
BY_STEP_100: dict[str, str] = {
    "code_exchange": "Meta did not accept the sign-in code: it is valid only once and for a few "
    "seconds. Run the signup again.",
    "override": "Meta refuses to send this account's webhooks here until the app is subscribed "
    "to it. Resuming subscribes the app first.",
    "register": "Meta refused the registration request (invalid parameter). Resume; if it "
    "happens again, check the number in WhatsApp Manager.",
}


def explain(error: GraphError, *, step: str) -> str:
    """Plain words for `error` at `step` (never contains a token)."""
    if error.code is None:
        return UNREACHABLE
    if error.code == 100 and step in BY_STEP_100:
        return BY_STEP_100[step]
    if error.code in BY_CODE:
        return BY_CODE[error.code]
    if error.http_status and error.http_status >= 500:
        return "Meta did not answer properly (a temporary failure on its side). Resume in a minute."
    return f"Meta refused this step (error {error.code}: {error.message}). Resume to try again."
