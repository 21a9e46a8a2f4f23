"""Offboarding end to end: request, export (real Celery worker), signed download, grace period,
cancel, drop; nothing of the deleted organization is left in any schema or storage path, and
another organization is untouched."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from tenants.api_keys import api_key_create
from tenants.errors import OffboardingError
from tenants.models import (
    AuditEntry,
    Domain,
    Organization,
    OrganizationDeletion,
    PhoneNumber,
    RawWebhookEvent,
)
from tenants.services.offboarding import (
    organization_delete,
    organization_delete_cancel,
    organization_export_path,
)
from tenants.services.onboarding import organization_create
from tenants.tasks import organization_deletions_due_task
from tests.conftest import in_tenant, wait_for
from tests.factories import (
    ContactFactory,
    IncomingMessageFactory,
    MediaFactory,
    PhoneNumberFactory,
    UserFactory,
    WebhookChangeFactory,
)
from whatsapp.models import Contact

MARKER = "zq-doomed-7f3a"  # appears in the doomed organization's data only
SLUG = "doomed-co"


@pytest.fixture
def doomed(live_db) -> Iterator[Organization]:
    org = organization_create(
        slug=SLUG, name="Doomed", admin_email="owner@doomed.test", admin_password="s3cret-pass-99"
    )
    yield org
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{org.schema_name}" CASCADE')
    OrganizationDeletion.objects.filter(org_id=org.org_id).delete()
    PhoneNumber.objects.filter(organization_id=org.pk).delete()
    Organization.objects.filter(pk=org.pk).delete()


def fill(org: Organization) -> None:
    """Contacts, messages, stored media, a number, an API key and webhook rows of `org`."""
    with schema_context(org.schema_name):
        contact = ContactFactory(name=f"Ana {MARKER}")
        IncomingMessageFactory(contact=contact, text=f"hello {MARKER}")
        MediaFactory(file=ContentFile(f"bytes {MARKER}".encode(), name="pic.png"), state="stored")
    number = PhoneNumberFactory(organization=org, display_number=f"+1555{MARKER[-4:]}")
    api_key_create(organization=org, name=f"key {MARKER}", created_by=None)
    WebhookChangeFactory(organization=org, value={"text": MARKER}, phone_number_id=number.pk)


def schemas_holding(marker: str) -> list[str]:
    """Every table, in every schema, with a row whose text contains `marker`."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema')"
        )
        for schema, table in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" t WHERE t::text LIKE %s',
                [f"%{marker}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{schema}.{table}")
    return found


def test_delete_exports_then_drops_everything_and_leaves_others_alone(
    doomed, org_b, celery_worker
) -> None:
    fill(doomed)
    with in_tenant(org_b):
        ContactFactory(name="Beta keeps me")
        MediaFactory(file=ContentFile(b"beta bytes", name="b.png"), state="stored")
    beta_number = PhoneNumberFactory(organization=org_b.organization)
    staff = UserFactory(username="staff@platform.test", is_staff=True)
    assert schemas_holding(MARKER)  # the marker is really there before

    deletion = organization_delete(organization=doomed, actor=staff, reason="customer left")
    doomed.refresh_from_db()
    assert doomed.status == Organization.Status.SUSPENDED
    assert deletion.scheduled_for > timezone.now() + timedelta(days=13)

    # The export is built by the real worker; its signed link downloads it on the public host.
    wait_for(lambda: OrganizationDeletion.objects.get(pk=deletion.pk).export_ready_at, timeout=30)
    deletion.refresh_from_db()
    public = Client(HTTP_HOST="localhost")
    response = public.get(organization_export_path(deletion=deletion))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    contacts = [
        json.loads(line) for line in archive.read("tables/whatsapp_contact.jsonl").splitlines()
    ]
    assert f"Ana {MARKER}" in [c["name"] for c in contacts]
    assert MARKER.encode() in archive.read("tables/whatsapp_whatsappmessage.jsonl")
    media = [name for name in archive.namelist() if name.startswith("files/media/")]
    assert len(media) == 1 and archive.read(media[0]) == f"bytes {MARKER}".encode()
    assert public.get("/offboarding/export/forged-token/").status_code == 404

    # Grace period over: beat's dispatcher drops it through the worker.
    OrganizationDeletion.objects.filter(pk=deletion.pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=1)
    )
    organization_deletions_due_task.delay()
    wait_for(
        lambda: OrganizationDeletion.objects.get(pk=deletion.pk).state == "completed", timeout=30
    )

    assert not schema_exists(doomed.schema_name)
    assert not Organization.objects.filter(slug=SLUG).exists()
    assert not Domain.objects.filter(domain__startswith=f"{SLUG}.").exists()
    assert schemas_holding(MARKER) == []
    # Its admin belonged to it alone; platform staff are kept.
    assert not get_user_model().objects.filter(username="owner@doomed.test").exists()
    assert get_user_model().objects.filter(pk=staff.pk).exists()
    assert not default_storage.exists(f"tenants/{doomed.org_id}")
    assert public.get(organization_export_path(deletion=deletion)).status_code == 404
    actions = list(
        AuditEntry.objects.filter(org_id=doomed.org_id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "organization.deletion_requested",
        "organization.export_ready",
        "organization.export_downloaded",
        "organization.deleted",
    ]
    # The other organization is untouched.
    with in_tenant(org_b):
        assert Contact.objects.filter(name="Beta keeps me").exists()
    assert PhoneNumber.objects.filter(pk=beta_number.pk).exists()
    assert schema_exists(org_b.schema)
    assert default_storage.listdir(f"tenants/{org_b.org_id}/media")[0]
    assert Organization.objects.get(pk=org_b.organization.pk).is_active


def test_raw_events_shared_with_another_organization_are_kept(doomed, org_b) -> None:
    shared = WebhookChangeFactory(organization=doomed).event
    WebhookChangeFactory(event=shared, organization=org_b.organization, change_index=99)
    only_doomed = WebhookChangeFactory(organization=doomed).event
    call_command("delete_org", org=SLUG, now=True, reason="test")
    assert RawWebhookEvent.objects.filter(pk=shared.pk).exists()
    assert not RawWebhookEvent.objects.filter(pk=only_doomed.pk).exists()


def test_cancel_during_the_grace_period_restores_the_organization(doomed) -> None:
    deletion = organization_delete(organization=doomed, actor=None, reason="oops")
    with pytest.raises(OffboardingError, match="already scheduled"):
        organization_delete(organization=doomed, actor=None, reason="again")
    call_command("delete_org", org=SLUG, cancel=True, reason="changed their mind")
    doomed.refresh_from_db()
    assert doomed.is_active
    assert schema_exists(doomed.schema_name)
    deletion.refresh_from_db()
    assert deletion.state == "cancelled"
    assert organization_deletions_due_task() == "dispatched 0 deletion(s)"
    with pytest.raises(CommandError, match="no scheduled deletion"):
        call_command("delete_org", org=SLUG, cancel=True)
    with pytest.raises(OffboardingError):
        organization_delete_cancel(deletion=deletion, actor=None, reason="twice")


def test_audit_entries_are_append_only(db) -> None:
    entry = AuditEntry.objects.create(actor_label="system", action="test.action")
    entry.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
