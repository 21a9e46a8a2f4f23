"""Sign-in handoff from the public host to an organization's host.

A session cookie belongs to one host, so after a person signs in on the public host the portal
issues a ticket for one of their organizations and sends the browser to that host, which
consumes the ticket and starts its own session (bound to that host). A ticket works once, for
HANDOFF_LIFETIME, on its organization's host only, and only while the person may still act
there; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from tenants.access import user_may_access
from tenants.errors import HandoffError
from tenants.models import LoginHandoff, Organization

HANDOFF_LIFETIME = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_organizations(*, user: AbstractBaseUser) -> QuerySet[Organization]:
    """The active organizations `user` is a member of, by name."""
    return Organization.objects.filter(
        memberships__user=user, status=Organization.Status.ACTIVE
    ).order_by("name", "slug")


def handoff_create(*, user: AbstractBaseUser, organization: Organization) -> str:
    """A one-time ticket signing `user` in on `organization`'s host; returns the token.
    Raises HandoffError if the user may not act on that organization."""
    if not user_may_access(user, organization):
        raise HandoffError("You are not a member of this organization.")
    token = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(
        token_hash=_hash(token),
        user=user,
        organization=organization,
        expires_at=timezone.now() + HANDOFF_LIFETIME,
    )
    # Old tickets are of no use to anyone: keep the table small.
    LoginHandoff.objects.filter(expires_at__lt=timezone.now() - HANDOFF_LIFETIME).delete()
    return token


def handoff_consume(*, token: str, organization: Organization) -> AbstractBaseUser:
    """The user a ticket signs in on `organization`'s host; the ticket is used up by the same
    UPDATE that checks it (two concurrent uses: one wins). Raises HandoffError when the ticket
    is unknown, used, expired, for another organization, or the user lost access."""
    now = timezone.now()
    tickets = LoginHandoff.objects.filter(
        token_hash=_hash(token), organization=organization, used_at=None, expires_at__gt=now
    )
    user_ids = list(tickets.values_list("user_id", flat=True)[:1])
    if not user_ids or not tickets.filter(user_id=user_ids[0]).update(used_at=now):
        raise HandoffError("This sign-in link has expired. Sign in again.")
    ticket = LoginHandoff.objects.select_related("user").get(token_hash=_hash(token))
    if not user_may_access(ticket.user, organization):
        raise HandoffError("You are not a member of this organization.")
    return ticket.user
