"""What the template services share: the organization's WABAs, its Graph client, Meta's errors
turned into domain errors, and storing a template as Meta returned it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import timezone

from tenants.models import Organization, PhoneNumber
from whatsapp.errors import NoSendingNumberError
from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import GraphError, GraphRateLimitedError
from whatsapp.graph.types import Template
from whatsapp.message_templates.errors import TemplateMetaError, TemplateRateLimitedError
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.services.meta_access import graph_client_for_org
from whatsapp.services.outbound.rules import current_organization


def organization_wabas(organization: Organization) -> list[str]:
    """The WABA ids of the organization's connected numbers (sorted, distinct)."""
    return sorted(
        set(PhoneNumber.objects.filter(organization=organization).values_list("waba_id", flat=True))
    )


def waba_of(organization: Organization, waba_id: str | None) -> str:
    """The WABA asked for (one of the organization's), else its first; NoSendingNumberError."""
    wabas = organization_wabas(organization)
    if waba_id:
        if waba_id not in wabas:
            raise NoSendingNumberError(
                "This organization has no WhatsApp Business Account with that id.", field="waba_id"
            )
        return waba_id
    if not wabas:
        raise NoSendingNumberError("This organization has no connected WhatsApp number.")
    return wabas[0]


@contextmanager
def meta_call() -> Iterator[GraphClient]:
    """The current organization's Graph client; Meta's errors become domain errors."""
    organization = current_organization()
    try:
        yield graph_client_for_org(str(organization.org_id))
    except GraphRateLimitedError as exc:
        # Meta's budget errors (4: app calls, 80007: WABA calls) ask for minutes, not seconds;
        # the wait is ours (settings), as Meta's answer carries no time.
        wait = settings.WHATSAPP_TEMPLATE_RATE_LIMIT_WAIT
        raise TemplateRateLimitedError(
            f"Meta's call budget is spent (code {exc.code}); try again in {int(wait)} s.",
            retry_after=wait,
        ) from exc
    except GraphError as exc:
        raise TemplateMetaError(f"Meta refused the call: {exc}") from exc


# Meta statuses that mean another for sending: REINSTATED is a template approved again (after a
# disable or an appeal), and it sends as an APPROVED one; the event itself is kept in the
# template's notices.
# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/message_template_status_update
STORED_STATUS = {"REINSTATED": MessageTemplate.Status.APPROVED}


def template_status_stored(meta_status: str) -> str:
    """The status stored for one Meta reports (the sendable ones are stored APPROVED)."""
    return STORED_STATUS.get(meta_status, meta_status)


def template_store(*, waba_id: str, remote: Template) -> tuple[MessageTemplate, bool]:
    """Insert or update the stored template from Meta's view of it; returns (row, created).
    A template that comes back from Meta is no longer `deleted_at_meta`."""
    fields: dict[str, Any] = {
        "meta_id": remote.id,
        "status": template_status_stored(remote.status or MessageTemplate.Status.PENDING),
        "components": [dict(c) for c in remote.components],
        "parameter_format": (remote.parameter_format or "POSITIONAL").upper(),
        "last_synced_at": timezone.now(),
        "deleted_at_meta": False,
    }
    if remote.category:
        fields["category"] = remote.category
    quality = remote.raw.get("quality_score")
    if isinstance(quality, dict) and quality.get("score"):
        fields["quality_score"] = str(quality["score"]).upper()[:16]
    reason = remote.raw.get("rejected_reason")
    if isinstance(reason, str) and reason not in ("", "NONE"):
        fields["rejection_reason"] = reason[:64]
    return MessageTemplate.objects.update_or_create(
        waba_id=waba_id, name=remote.name, language=remote.language, defaults=fields
    )
