"""Who may act on which host: the one rule every authentication path asks."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.http import HttpRequest

from tenants.models import Membership, Organization


def current_tenant(request: HttpRequest | None = None) -> Organization | None:
    """The organization the request (or, outside a request, the connection) is scoped to."""
    tenant = getattr(request, "tenant", None) if request is not None else None
    return tenant or getattr(connection, "tenant", None)


def current_org_id() -> str:
    """The org_id of the organization whose schema the connection is in.

    Under tenant-schemas-celery or a request the connection carries the Organization; under a
    bare `schema_context` it carries only the schema name, so the org is looked up by it.
    Raises Organization.DoesNotExist outside any organization's schema.
    """
    org_id = getattr(getattr(connection, "tenant", None), "org_id", None)
    if org_id is None:
        org_id = Organization.objects.values_list("org_id", flat=True).get(
            schema_name=connection.schema_name
        )
    return str(org_id)


def user_may_access(user: AbstractBaseUser | AnonymousUser, tenant: Organization | None) -> bool:
    """Platform staff act on the public host; an org's members act on its host while active."""
    if not user.is_authenticated or not user.is_active:
        return False
    if tenant is None or not isinstance(tenant, Organization) or tenant.is_public:
        return bool(user.is_staff)
    if not tenant.is_active:
        return False
    return Membership.objects.filter(user=user, organization=tenant).exists()
