"""`messages_bulk_create`: store many outgoing messages `queued` and enqueue them, set-wise.

For creators of thousands of rows at once (campaigns, imports): Django's `bulk_create` compiles
SQL row by row and needs a model instance per row (Django's `Model.__init__` alone costs more
than the INSERT of this wide model), and skips the post_save signal, so every bulk creator had
to remember `messages_enqueue`. Here plain rows go to PostgreSQL as one JSON document per chunk
(`whatsapp.services.bulk.insert_rows_ignore`) and the
inserted ids are enqueued on commit, in the creating tenant, in sending batches. A row whose
`client_reference` or `idempotency_key` is already stored is skipped (not an error, not sent
again): re-running a creator with the same keys is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from billing_stub.quota import quota_use
from tenants.models import Organization
from whatsapp.models import WhatsAppMessage
from whatsapp.services.bulk import insert_rows_ignore
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.rules import Status

# Rows per INSERT: large enough that per-statement costs vanish, small enough that one JSON
# document stays a few MB.
CHUNK_SIZE = 5_000
OUTGOING = WhatsAppMessage.Direction.OUTGOING


def messages_bulk_create(
    *, messages: Iterable[Mapping[str, Any]], chunk_size: int = CHUNK_SIZE
) -> list[int]:
    """Store outgoing messages `queued` in the current tenant and enqueue them for sending once
    the surrounding transaction commits.

    `messages`: one mapping per message of WhatsAppMessage field names to values, e.g.
    `{"contact": contact (or "contact_id": 7), "recipient": "447911123456", "type": "text",
    "content": {"body": "Hi"}, "phone_number_id": "1055...", "idempotency_key": "camp-3-17"}`;
    `direction`, `status` and (when absent) `timestamp` are set here; other fields take their
    model defaults. The caller has validated recipients, content and windows (the sending task
    checks the 24-hour window again before each send). Returns the ids of the rows inserted, in
    no promised order; rows skipped as duplicates (same `client_reference` or
    `idempotency_key` as a stored row) are neither returned nor enqueued. Raises ValueError for
    a row that sets `direction` or `status`, KeyError for a key that is no message field, and
    what PostgreSQL raises for a value it refuses (nothing of the call is then stored), and
    billing's QuotaExceeded / PaymentPastDue when the rows inserted would pass the plan's
    monthly messages or sending is stopped (nothing of the call is stored either).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    now = timezone.now()
    ids: list[int] = []
    with transaction.atomic():
        chunk: list[dict[str, Any]] = []
        for message in messages:
            if "direction" in message or "status" in message:
                raise ValueError("messages_bulk_create sets direction and status itself")
            chunk.append(
                {"timestamp": now, **message, "direction": OUTGOING, "status": Status.QUEUED}
            )
            if len(chunk) >= chunk_size:
                ids.extend(_insert(chunk))
                chunk = []
        ids.extend(_insert(chunk))
        # Only the rows inserted count (duplicates skipped by their keys do not), once.
        quota_use(
            organization_id=_organization_id(), limit="outbound_messages_per_month", amount=len(ids)
        )
        messages_enqueue(message_ids=ids)
    return ids


def _insert(chunk: Sequence[Mapping[str, Any]]) -> list[int]:
    return [row[0] for row in insert_rows_ignore(WhatsAppMessage, chunk, returning=["id"])]


def _organization_id() -> int:
    """The organization of the connection's schema (a request's tenant, or a bare
    `schema_context` that carries only the schema's name)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization):
        return tenant.pk
    return Organization.objects.values_list("pk", flat=True).get(schema_name=connection.schema_name)
