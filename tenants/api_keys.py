"""Per-organization API keys: create (the key is returned once), revoke, authenticate.

A key looks like `wak_<prefix>.<secret>`. The prefix is public (listed, indexed, unique) and finds
the row; the whole key's SHA-256 is compared in constant time. The key itself is never stored,
logged or returned after creation.

Clients send `Authorization: Api-Key <key>`. A key works only on its organization's host, not
once revoked, and not while the organization is suspended.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from tenants.access import current_tenant
from tenants.models import ApiKey, Organization

KEY_TAG = "wak_"  # lets secret scanners recognise a leaked key
KEYWORD = "Api-Key"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 10
# Writing last_used_at on every request would turn each read into a write; a minute is precise
# enough to tell live keys from dead ones.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyNotFoundError(Exception):
    """No API key with that id in the organization."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    if not key.startswith(KEY_TAG) or "." not in key:
        return None
    prefix, _, secret = key[len(KEY_TAG) :].partition(".")
    if len(prefix) != _PREFIX_LENGTH or not secret:
        return None
    return KEY_TAG + prefix, secret


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, created_by: AbstractBaseUser | None
) -> tuple[ApiKey, str]:
    """Create a key for `organization`; returns the row and the key, which is never shown again."""
    for _attempt in range(5):
        prefix = KEY_TAG + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))
        key = f"{prefix}.{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    organization=organization,
                    name=name.strip()[:100],
                    prefix=prefix,
                    key_hash=_hash(key),
                    created_by=created_by,
                )
        except IntegrityError:  # prefix collision: 36^10 makes this all but impossible
            continue
        return api_key, key
    raise RuntimeError("could not allocate a unique API key prefix")


def api_key_revoke(*, organization: Organization, api_key_id: int) -> ApiKey:
    """Revoke one of `organization`'s keys (idempotent). Raises ApiKeyNotFoundError."""
    api_key = ApiKey.objects.filter(organization=organization, pk=api_key_id).first()
    if api_key is None:
        raise ApiKeyNotFoundError(f"no API key {api_key_id}")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by")


def api_key_find(*, key: str) -> ApiKey | None:
    """The key's row (revoked or not) if `key` is genuine, else None. Constant-time compare."""
    parts = _split(key)
    if parts is None:
        return None
    api_key = ApiKey.objects.filter(prefix=parts[0]).select_related("organization").first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(key)):
        return None
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


@dataclass(frozen=True)
class ApiKeyUser:
    """`request.user` for a request authenticated by an API key (`request.auth` is the key).

    A key belongs to the organization, not to a person: it keeps working when its creator
    leaves. It is not a database user; code that needs one should look at `request.auth`.
    """

    api_key: ApiKey

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    @property
    def username(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>`, valid on its organization's host only."""

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Api-Key header: expected `Api-Key <key>`.", code="invalid_api_key"
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            key = ""
        api_key = api_key_find(key=key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        tenant = current_tenant(request)
        if not isinstance(tenant, Organization) or tenant.pk != api_key.organization_id:
            raise exceptions.AuthenticationFailed(
                "This API key was not issued for this organization.", code="wrong_organization"
            )
        if api_key.is_revoked:
            raise exceptions.AuthenticationFailed(
                "This API key has been revoked.", code="api_key_revoked"
            )
        if not api_key.organization.is_active:
            raise exceptions.AuthenticationFailed(
                "This organization is suspended.", code="access_revoked"
            )
        api_key_touch(api_key=api_key)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
