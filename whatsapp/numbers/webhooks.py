"""The `account_update` webhook handler: the gateway's recording, then onboarding.

Extends `whatsapp.webhooks.fields.account_event_handler` (each change kept as an AccountEvent)
and finishes Embedded Signup runs waiting for Meta's confirmation of their WABA (Meta sends
`account_update` when a customer completes Embedded Signup:
https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/#account_update).
Contract: whatsapp/webhooks/handlers.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import connection

from tenants.models import Organization
from whatsapp.numbers.services.onboarding import onboarding_account_update_seen
from whatsapp.webhooks.fields import account_event_handler
from whatsapp.webhooks.handlers import ChangeInput


def account_update_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    notes = account_event_handler(changes)
    waba_ids = sorted({change.waba_id for change in changes if change.waba_id})
    if waba_ids:
        organization = Organization.objects.get(schema_name=connection.schema_name)
        onboarding_account_update_seen(waba_ids=waba_ids, organization=organization)
    return notes
