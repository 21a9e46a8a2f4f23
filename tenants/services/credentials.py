"""Storing and reading an organization's Meta access token, always encrypted at rest."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tenants.crypto import decrypt_secret, encrypt_secret, fingerprint, reencrypt_secret
from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, WhatsAppCredential

logger = logging.getLogger(__name__)


@transaction.atomic
def credential_store(
    *, organization: Organization, access_token: str, expires_at: datetime | None = None
) -> WhatsAppCredential:
    """Encrypt and store `access_token` as the organization's token, marking it valid."""
    access_token = access_token.strip()
    if not access_token:
        raise ValueError("access token must not be empty")
    credential, _ = WhatsAppCredential.objects.update_or_create(
        organization=organization,
        defaults={
            "encrypted_token": encrypt_secret(access_token, owner=str(organization.org_id)),
            "fingerprint": fingerprint(access_token),
            "expires_at": expires_at,
            "state": WhatsAppCredential.State.VALID,
            "last_error": "",
            "refreshed_at": timezone.now(),
        },
    )
    logger.info(
        "access token stored: org_id=%s token=%s expires_at=%s",
        organization.org_id,
        credential.masked,
        expires_at.isoformat() if expires_at else "never",
    )
    return credential


def credential_for(org_id: str) -> WhatsAppCredential:
    try:
        return WhatsAppCredential.objects.select_related("organization").get(
            organization__org_id=org_id
        )
    except WhatsAppCredential.DoesNotExist as exc:
        raise CredentialMissingError(f"organization {org_id} has no WhatsApp access token") from exc


def credential_decrypt(credential: WhatsAppCredential) -> str:
    """The plain token of `credential`; raises CredentialInvalidError when sending is halted."""
    if credential.state == WhatsAppCredential.State.INVALID:
        raise CredentialInvalidError(
            f"the WhatsApp access token of organization {credential.organization_id} is invalid "
            f"({credential.last_error or 'refresh failed'}); sending is halted until a new "
            "token is connected"
        )
    return decrypt_secret(credential.encrypted_token, owner=str(credential.organization_id))


def credential_mark_invalid(*, org_id: str, reason: str) -> None:
    """Halt the organization's sending: its token is invalid until a new one is stored."""
    WhatsAppCredential.objects.filter(organization__org_id=org_id).update(
        state=WhatsAppCredential.State.INVALID, last_error=reason[:500]
    )
    logger.error("access token marked invalid: org_id=%s reason=%s", org_id, reason)


def credentials_reencrypt_all() -> int:
    """Re-encrypt every stored token with the primary key; returns how many were rewritten."""
    count = 0
    with transaction.atomic():
        for credential in WhatsAppCredential.objects.select_for_update().order_by("pk"):
            credential.encrypted_token = reencrypt_secret(credential.encrypted_token)
            credential.save(update_fields=["encrypted_token", "updated_at"])
            count += 1
    logger.info("re-encrypted %d access tokens with the primary key", count)
    return count
