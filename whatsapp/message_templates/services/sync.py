"""`templates_sync`: the organization's templates as Meta has them, every page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from whatsapp.message_templates.models import MessageTemplate, TemplateNotice
from whatsapp.message_templates.services.common import (
    meta_call,
    organization_wabas,
    template_store,
    waba_of,
)
from whatsapp.services.outbound.rules import current_organization

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    """Counts of one sync over the WABAs it covered."""

    wabas: tuple[str, ...]
    created: int
    updated: int
    deleted_at_meta: int


def templates_sync(*, waba_id: str | None = None) -> SyncResult:
    """Fetch every template of the organization's WABAs (or of `waba_id`) from Meta, following
    `paging.next` to the end (GraphClient.list_templates), and store them.

    Templates stored but no longer listed by Meta are marked `deleted_at_meta` (with a notice),
    never dropped. Meta is called before anything is written, so a failure changes nothing.
    Raises TemplateRateLimitedError (codes 4/80007, with `retry_after`), TemplateMetaError,
    NoSendingNumberError.
    Meta: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/
    """
    organization = current_organization()
    wabas = [waba_of(organization, waba_id)] if waba_id else organization_wabas(organization)
    fetched = {}
    with meta_call() as client:
        for waba in wabas:
            fetched[waba] = client.list_templates(
                waba, limit=settings.WHATSAPP_TEMPLATE_SYNC_PAGE_SIZE
            )
    created = updated = deleted = 0
    with transaction.atomic():
        for waba, remote_templates in fetched.items():
            seen = set()
            for remote in remote_templates:
                _, was_created = template_store(waba_id=waba, remote=remote)
                created += was_created
                updated += not was_created
                seen.add((remote.name, remote.language))
            gone = [
                t
                for t in MessageTemplate.objects.filter(waba_id=waba, deleted_at_meta=False)
                if (t.name, t.language) not in seen
            ]
            for template in gone:
                template.deleted_at_meta = True
                template.save(update_fields=["deleted_at_meta", "updated_at"])
                TemplateNotice.objects.create(
                    template=template,
                    kind=TemplateNotice.Kind.DELETED_AT_META,
                    message=f"{template.name} ({template.language}) no longer exists at Meta.",
                )
            deleted += len(gone)
    logger.info(
        "templates synced: wabas=%s created=%s updated=%s deleted_at_meta=%s",
        len(wabas),
        created,
        updated,
        deleted,
    )
    return SyncResult(wabas=tuple(wabas), created=created, updated=updated, deleted_at_meta=deleted)
