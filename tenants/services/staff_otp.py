"""Staff's second factor for the console: one confirmed TOTP device per staff user (django-otp).

Enrolment is an operator's step (`manage.py console_totp --email ...`, and `seed_demo` for the
demo's staff user): the command prints the secret and its `otpauth://` URL, which any
authenticator app (or a QR code made of it) takes. RFC 6238 codes, 30 s, 6 digits.
"""

from __future__ import annotations

import time
from base64 import b32encode
from typing import Any

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "console"


@transaction.atomic
def staff_totp_device(*, user: Any, reset: bool = False, key_hex: str | None = None) -> TOTPDevice:
    """The staff user's confirmed console device, created when missing (or replaced when
    `reset`). `key_hex` fixes the secret (the demo only). Raises ValueError for a user who is
    not staff."""
    if not user.is_staff:
        raise ValueError("only platform staff sign in to the console")
    devices = TOTPDevice.objects.filter(user=user, name=DEVICE_NAME)
    if reset:
        devices.delete()
    device = devices.first()
    if device is None:
        extra = {"key": key_hex} if key_hex else {}
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True, **extra)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The device's secret in base32, as authenticator apps take it by hand."""
    return b32encode(device.bin_key).decode()


def totp_code_now(device: TOTPDevice) -> str:
    """The code the device's authenticator shows now (demo and tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"
