"""An organization's team: members and their roles, and invitations by e-mail link.

Roles: `admin` manages the team, API keys and settings; `member` (shown as "Agent") works in
the inbox. An organization always keeps at least one admin.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tenants.errors import TeamError
from tenants.models import Invitation, Membership, Organization
from tenants.services.limits import plan_limit_check

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _normalize_email(email: str) -> str:
    return get_user_model().objects.normalize_email(email.strip()).lower()


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    """The organization's memberships with their users, admins first, then by email."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__username")
    )


def _ensure_another_admin(membership: Membership) -> None:
    if membership.role != Membership.Role.ADMIN:
        return
    others = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise TeamError("An organization needs at least one admin.")


def _locked_membership(organization: Organization, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .filter(organization=organization, pk=membership_id)
        .first()
    )
    if membership is None:
        raise TeamError("No such member.")
    return membership


@transaction.atomic
def member_set_role(*, organization: Organization, membership_id: int, role: str) -> Membership:
    """Give a member of `organization` another role. Raises TeamError (unknown member or role,
    or the last admin would become an agent)."""
    if role not in Membership.Role.values:
        raise TeamError(f"Unknown role {role!r}.")
    membership = _locked_membership(organization, membership_id)
    if role != membership.role:
        if role != Membership.Role.ADMIN:
            _ensure_another_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, organization: Organization, membership_id: int) -> None:
    """Remove a member from `organization` (their account stays; other organizations too).
    Raises TeamError (unknown member, or the last admin)."""
    membership = _locked_membership(organization, membership_id)
    _ensure_another_admin(membership)
    membership.delete()


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    token: str  # goes into the e-mailed link only; never stored or logged


@transaction.atomic
def invitation_create(
    *,
    organization: Organization,
    email: str,
    role: str,
    invited_by: AbstractBaseUser | None,
    accept_url: str,
) -> InvitationSent:
    """Invite `email` to join `organization` as `role` and e-mail the link (after commit).

    `accept_url` is the organization host's accept page with `{token}` where the token goes,
    e.g. `https://acme.example.com/invitations/{token}/`. Earlier open invitations of the same
    email are revoked. Raises TeamError when the person is already a member or the role is
    unknown.
    """
    if role not in Membership.Role.values:
        raise TeamError(f"Unknown role {role!r}.")
    email = _normalize_email(email)
    if Membership.objects.filter(organization=organization, user__username=email).exists():
        raise TeamError(f"{email} is already a member.")
    now = timezone.now()
    Invitation.objects.filter(
        organization=organization, email=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=now)
    # An open invitation holds a seat: the plan's `members` counts members and invitations.
    plan_limit_check(organization=organization, limit="members")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=_hash(token),
        invited_by=invited_by,
        expires_at=now + INVITATION_LIFETIME,
    )
    link = accept_url.format(token=token)
    role_label = Membership.Role(role).label.lower()
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {organization.name}",
            message=(
                f"You have been invited to join {organization.name} as {role_label}.\n\n"
                f"Accept the invitation (the link works for {INVITATION_LIFETIME.days} days):\n"
                f"{link}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
    )
    logger.info("invitation created: org=%s invitation=%s", organization.slug, invitation.pk)
    return InvitationSent(invitation=invitation, token=token)


def invitation_list_open(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations of `organization` not yet accepted, revoked or expired."""
    return Invitation.objects.filter(
        organization=organization,
        accepted_at=None,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    )


def invitation_revoke(*, organization: Organization, invitation_id: int) -> None:
    """Revoke an open invitation of `organization` (idempotent). Raises TeamError if unknown."""
    updated = Invitation.objects.filter(organization=organization, pk=invitation_id).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise TeamError("No such invitation.")


def invitation_find(*, organization: Organization, token: str) -> Invitation:
    """The open invitation to `organization` that `token` belongs to. Raises TeamError when
    there is none (unknown, another organization's, used, revoked or expired)."""
    invitation = invitation_list_open(organization=organization).filter(token_hash=_hash(token))
    found = invitation.first()
    if found is None:
        raise TeamError("This invitation link is not valid any more. Ask for a new one.")
    return found


def invitation_user(*, invitation: Invitation) -> AbstractBaseUser | None:
    """The existing account of the invited email, if there is one."""
    return get_user_model().objects.filter(username=invitation.email).first()


@transaction.atomic
def invitation_accept(*, organization: Organization, token: str, password: str) -> Membership:
    """Accept an invitation: the invited person joins `organization` with the invited role.

    A new person's account is created with `password`; someone who already has an account
    (in another organization) proves it with their current password. The invitation works
    once. Raises TeamError (link not valid, wrong password) or ValidationError (a new
    password that Django's validators refuse).
    """
    invitation = invitation_find(organization=organization, token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise TeamError("This invitation link is not valid any more. Ask for a new one.")
    user_model = get_user_model()
    user = invitation_user(invitation=invitation)
    if user is None:
        validate_password(password)
        user = user_model.objects.create_user(
            username=invitation.email, email=invitation.email, password=password
        )
    elif not user.check_password(password):
        raise TeamError("That is not the password of your existing account.")
    membership, _created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    logger.info("invitation accepted: org=%s invitation=%s", organization.slug, invitation.pk)
    return membership
