"""`manage.py seed_demo` leaves the console something to show and a staff second factor."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import WebhookChange

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_failed_and_unroutable_changes_and_the_staff_totp(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert WebhookChange.objects.filter(state="failed", organization__slug="demo").count() == 2
    assert WebhookChange.objects.filter(state="unroutable", organization=None).count() == 2
    staff = get_user_model().objects.get(username="staff@example.com")
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).count() == 1
    assert "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in out.getvalue()
    assert "otpauth://totp/" in out.getvalue()
