"""`/settings/` and the team services: admins only (agents get 403), CSRF on every action,
the last admin stays, invitations by link, and nothing of org A reachable from org B's host."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from tenants.api_keys import api_key_create
from tenants.errors import TeamError
from tenants.models import ApiKey, Invitation, Membership, Organization
from tenants.services import team
from tenants.services.schedule import (
    Interval,
    ScheduleError,
    organization_is_open,
    schedule_set,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_POSTS = (
    "/settings/invitations/",
    "/settings/api-keys/",
    "/settings/hours/",
    "/settings/members/1/role/",
    "/settings/members/1/remove/",
    "/settings/invitations/1/revoke/",
    "/settings/api-keys/1/revoke/",
)


def signed_in(org, email: str | None = None, **client_kwargs) -> Client:
    client = Client(HTTP_HOST=org.host, **client_kwargs)
    client.force_login(get_user_model().objects.get(username=email or org.admin_email))
    return client


def _invite(org, email: str, role: str = "member") -> str:
    mail.outbox = []
    sent = team.invitation_create(
        organization=org.organization,
        email=email,
        role=role,
        invited_by=None,
        accept_url=f"http://{org.host}/invitations/{{token}}/",
    )
    return sent.token


def test_agents_get_403_on_every_admin_page_and_action(org_a, make_user) -> None:
    make_user("agent@alpha.test", org=org_a, role="member")
    agent = signed_in(org_a, "agent@alpha.test")
    assert agent.get("/").status_code == 200
    assert agent.get("/settings/").status_code == 403
    for path in ADMIN_POSTS:
        assert agent.post(path).status_code == 403, path
    anonymous = Client(HTTP_HOST=org_a.host)
    assert anonymous.get("/settings/")["Location"].startswith("/login/")


def test_every_action_needs_the_csrf_token(org_a) -> None:
    admin = signed_in(org_a, enforce_csrf_checks=True)
    assert admin.get("/settings/").status_code == 200
    for path in (*ADMIN_POSTS, "/logout/"):
        assert admin.post(path).status_code == 403, path
    assert not ApiKey.objects.exists()


def test_admin_creates_a_key_shown_once_and_revokes_it(org_a) -> None:
    admin = signed_in(org_a)
    response = admin.post("/settings/api-keys/", {"name": "CRM"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = re.search(r"wak_[a-z0-9]+\.[\w-]+", response.content.decode()).group(0)
    assert key not in admin.get("/settings/").content.decode()
    row = ApiKey.objects.get()
    admin.post(f"/settings/api-keys/{row.pk}/revoke/")
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_nothing_of_org_a_is_reachable_from_org_b_by_id(org_a, org_b, make_user) -> None:
    agent = make_user("agent@alpha.test", org=org_a, role="member")
    membership = Membership.objects.get(user=agent)
    api_key, _ = api_key_create(organization=org_a.organization, name="A's", created_by=None)
    token = _invite(org_a, "new@alpha.test")
    invitation = Invitation.objects.get()

    admin_b = signed_in(org_b)
    admin_b.post(f"/settings/members/{membership.pk}/role/", {f"m{membership.pk}-role": "admin"})
    admin_b.post(f"/settings/members/{membership.pk}/remove/")
    admin_b.post(f"/settings/api-keys/{api_key.pk}/revoke/")
    admin_b.post(f"/settings/invitations/{invitation.pk}/revoke/")
    membership.refresh_from_db()
    api_key.refresh_from_db()
    invitation.refresh_from_db()
    assert membership.role == "member"
    assert api_key.revoked_at is None and invitation.revoked_at is None

    page_b = admin_b.get("/settings/").content.decode()
    for secret in ("agent@alpha.test", "new@alpha.test", api_key.prefix, org_a.admin_email):
        assert secret not in page_b
    # A's invitation link does nothing on B's host.
    assert Client(HTTP_HOST=org_b.host).get(f"/invitations/{token}/").status_code == 404
    assert Client(HTTP_HOST=org_a.host).get(f"/invitations/{token}/").status_code == 200


def test_the_last_admin_can_be_neither_demoted_nor_removed(org_a, make_user) -> None:
    admin = Membership.objects.get(user__username=org_a.admin_email)
    with pytest.raises(TeamError):
        team.member_set_role(organization=org_a.organization, membership_id=admin.pk, role="member")
    with pytest.raises(TeamError):
        team.member_remove(organization=org_a.organization, membership_id=admin.pk)
    other = make_user("second@alpha.test", org=org_a, role="admin")
    team.member_set_role(organization=org_a.organization, membership_id=admin.pk, role="member")
    with pytest.raises(TeamError):
        team.member_remove(
            organization=org_a.organization,
            membership_id=Membership.objects.get(user=other).pk,
        )


def test_invitation_accept_creates_the_account_once_with_the_invited_role(
    org_a, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        token = _invite(org_a, "New.Person@Alpha.test", role="admin")
    assert mail.outbox[0].to == ["new.person@alpha.test"]
    assert f"http://{org_a.host}/invitations/{token}/" in mail.outbox[0].body
    client = Client(HTTP_HOST=org_a.host)
    weak = client.post(f"/invitations/{token}/", {"password": "123", "password_again": "123"})
    assert weak.status_code == 400
    response = client.post(
        f"/invitations/{token}/",
        {"password": "a-good-new-password", "password_again": "a-good-new-password"},
    )
    assert response["Location"] == "/"
    membership = Membership.objects.get(user__username="new.person@alpha.test")
    assert membership.role == "admin"
    assert client.get("/settings/").status_code == 200
    assert Client(HTTP_HOST=org_a.host).get(f"/invitations/{token}/").status_code == 404


def test_someone_with_an_account_confirms_it_with_their_password(org_a, org_b) -> None:
    token = _invite(org_a, org_b.admin_email)
    with pytest.raises(TeamError):
        team.invitation_accept(organization=org_a.organization, token=token, password="wrong")
    membership = team.invitation_accept(
        organization=org_a.organization, token=token, password=PASSWORD
    )
    assert membership.user.username == org_b.admin_email and membership.role == "member"


def test_revoked_expired_and_superseded_invitations_do_not_work(org_a) -> None:
    first = _invite(org_a, "x@alpha.test")
    second = _invite(org_a, "x@alpha.test")  # revokes the first
    with pytest.raises(TeamError):
        team.invitation_find(organization=org_a.organization, token=first)
    Invitation.objects.filter(revoked_at=None).update(expires_at=timezone.now() - timedelta(1))
    with pytest.raises(TeamError):
        team.invitation_find(organization=org_a.organization, token=second)
    with pytest.raises(TeamError):
        _invite(org_a, org_a.admin_email)  # already a member


def test_business_hours_in_the_organization_time_zone(org_a) -> None:
    org = Organization.objects.get(pk=org_a.organization.pk)  # not the session's shared object
    schedule_set(
        organization=org,
        time_zone="America/New_York",
        intervals=[
            Interval(0, time(9), time(12)),
            Interval(0, time(13), time(17)),
        ],
    )
    new_york = zoneinfo.ZoneInfo("America/New_York")
    monday = datetime(2026, 11, 30, tzinfo=new_york)  # a Monday
    assert organization_is_open(organization=org, at=monday.replace(hour=10))
    assert not organization_is_open(organization=org, at=monday.replace(hour=12, minute=30))
    # 14:00 UTC is 09:00 in New York (EST): open.
    assert organization_is_open(
        organization=org, at=datetime(2026, 11, 30, 14, tzinfo=zoneinfo.ZoneInfo("UTC"))
    )
    assert not organization_is_open(organization=org, at=monday.replace(day=1, hour=10))
    for bad in (
        [Interval(0, time(9), time(12)), Interval(0, time(11), time(13))],
        [Interval(1, time(12), time(9))],
        [Interval(7, time(9), time(12))],
    ):
        with pytest.raises(ScheduleError):
            schedule_set(organization=org, time_zone="UTC", intervals=bad)
    with pytest.raises(ScheduleError):
        schedule_set(organization=org, time_zone="Mars/Olympus", intervals=[])


def test_password_reset_by_email_link(org_a, settings) -> None:
    mail.outbox = []
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    response = public.post("/password-reset/", {"email": org_a.admin_email})
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"http://localhost(/password-reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form = public.get(link, follow=True)
    assert form.status_code == 200
    done = public.post(
        form.redirect_chain[-1][0],
        {"new_password1": "fresh-password-2026", "new_password2": "fresh-password-2026"},
    )
    assert done["Location"] == "/password-reset/complete/"
    org_client = Client(HTTP_HOST=org_a.host)
    assert (
        org_client.post(
            "/login/", {"username": org_a.admin_email, "password": "fresh-password-2026"}
        )["Location"]
        == "/"
    )
