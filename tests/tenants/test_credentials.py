"""Access tokens: encrypted at rest, bound to their org, rotatable, never shown or logged."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tenants.crypto import SecretDecryptionError, decrypt_secret
from tenants.models import WhatsAppCredential
from tenants.services.credentials import credential_decrypt, credential_for, credential_store
from tenants.services.routing import phone_number_connect

pytestmark = pytest.mark.django_db

TOKEN = "EAAGsecretTOKENvalue-0123456789"


def _raw_credential_row(org_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(c)::text FROM tenants_whatsappcredential c "
            "WHERE organization_id = %s",
            [org_id],
        )
        return cursor.fetchone()[0]


def test_token_is_encrypted_at_rest_and_decrypts(org_a) -> None:
    credential_store(organization=org_a.organization, access_token=TOKEN)
    row = _raw_credential_row(org_a.org_id)
    assert TOKEN not in row
    assert credential_decrypt(credential_for(org_a.org_id)) == TOKEN


def test_ciphertext_copied_to_another_org_does_not_decrypt(org_a, org_b) -> None:
    stolen = credential_store(organization=org_a.organization, access_token=TOKEN)
    credential_store(organization=org_b.organization, access_token="EAAother")
    WhatsAppCredential.objects.filter(organization=org_b.organization).update(
        encrypted_token=stolen.encrypted_token
    )
    with pytest.raises(SecretDecryptionError):
        credential_decrypt(credential_for(org_b.org_id))


def test_key_rotation_reencrypts_every_token(org_a, org_b, settings) -> None:
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    credential_store(organization=org_a.organization, access_token=TOKEN)
    credential_store(organization=org_b.organization, access_token="EAAsecond")
    before = credential_for(org_a.org_id).encrypted_token

    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_token_keys")
    after = credential_for(org_a.org_id).encrypted_token
    assert after != before

    # The old key can be dropped: everything now decrypts with the new key alone.
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    assert credential_decrypt(credential_for(org_a.org_id)) == TOKEN
    assert credential_decrypt(credential_for(org_b.org_id)) == "EAAsecond"
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(after, owner=org_a.org_id)


def test_token_never_appears_in_logs(org_a, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    call_command(
        "connect_number",
        org="alpha",
        phone_number_id="5550001",
        waba_id="7770001",
        display_number="+15550001",
        access_token=TOKEN,
    )
    credential_decrypt(credential_for(org_a.org_id))
    assert caplog.records, "the connection is logged"
    assert TOKEN not in caplog.text


def test_admin_shows_tokens_masked(org_a, make_user) -> None:
    from tests.clients import staff_client

    credential = credential_store(organization=org_a.organization, access_token=TOKEN)
    staff = make_user("staff@platform.test", is_staff=True, is_superuser=True)
    client = staff_client(staff)
    listing = client.get("/admin/tenants/whatsappcredential/")
    detail = client.get(f"/admin/tenants/whatsappcredential/{credential.pk}/change/")
    assert listing.status_code == 200
    assert detail.status_code == 200
    for response in (listing, detail):
        body = response.content.decode()
        assert TOKEN not in body
        assert credential.encrypted_token not in body
        assert credential.masked in body


def test_decryption_error_does_not_reveal_the_secret(org_a, settings) -> None:
    credential_store(organization=org_a.organization, access_token=TOKEN)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError) as error:
        credential_decrypt(credential_for(org_a.org_id))
    assert TOKEN not in str(error.value)
    assert TOKEN not in repr(error.value)


def test_routing_lookup_finds_the_owner(org_a, org_b) -> None:
    from tenants.errors import OnboardingError
    from tenants.services.routing import organization_for_phone_number

    phone_number_connect(
        organization=org_a.organization,
        phone_number_id="4440001",
        waba_id="1",
        display_number="+1444",
    )
    assert organization_for_phone_number("4440001") == org_a.organization
    assert organization_for_phone_number("4440002") is None
    with pytest.raises(OnboardingError, match="another organization"):
        phone_number_connect(
            organization=org_b.organization,
            phone_number_id="4440001",
            waba_id="1",
            display_number="+1444",
        )
