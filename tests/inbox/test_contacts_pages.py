"""Contacts: CSV import with a report per row (phone numbers checked by `phonenumbers`,
BSUID-only rows allowed), export, tags, search, and another organization sees none of it."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import in_tenant
from tests.factories import ContactFactory
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db

CSV = (
    "Phone,BSUID,Name,Tags,Opted_out\n"
    "+44 7911 123456,,Alice,VIP; Leads,\n"  # 2 created, tags normalised
    "not a number,,Bob,,\n"  # 3 error
    ",US.13491208655302741918,Carol,,yes\n"  # 4 BSUID only, opted out
    ",,Nobody,,\n"  # 5 error: no id
    "447911123456,,Alice again,,\n"  # 6 the same person: updated, name kept
    "+1 23,,Short,,\n"  # 7 error: not a possible number
)


def _import(client, body: str):
    upload = SimpleUploadedFile("contacts.csv", body.encode(), content_type="text/csv")
    return client.post("/contacts/import/", {"file": upload})


def test_import_reports_every_row(org_a, member_client):
    response = _import(member_client(org_a), CSV)
    assert response.status_code == 200
    outcomes = [(r.line, r.outcome) for r in response.context["reports"]]
    assert outcomes == [
        (2, "created"),
        (3, "error"),
        (4, "created"),
        (5, "error"),
        (6, "updated"),
        (7, "error"),
    ]
    assert "2 created, 1 updated, 3 with errors" in response.content.decode()
    with in_tenant(org_a):
        alice = Contact.objects.get(wa_id="447911123456")
        assert alice.name == "Alice"
        assert sorted(t.name for t in alice.tags.all()) == ["leads", "vip"]
        carol = Contact.objects.get(user_id="US.13491208655302741918")
        assert carol.wa_id is None and carol.opted_out_at is not None


def test_a_file_without_an_id_column_is_refused_whole(org_a, member_client):
    response = _import(member_client(org_a), "name,email\nA,a@example.com\n")
    assert response.context["reports"] is None
    assert "phone" in response.context["error"]


def test_export_round_trips_and_defuses_formulas(org_a, member_client):
    client = member_client(org_a)
    _import(client, CSV)
    with in_tenant(org_a):
        ContactFactory(name="=HYPERLINK(1)", wa_id="5511999990001")
    response = client.get("/contacts/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_phone = {row["phone"]: row for row in rows}
    assert by_phone["+447911123456"]["tags"] == "leads; vip"
    assert by_phone["+5511999990001"]["name"] == "'=HYPERLINK(1)"
    assert any(row["bsuid"] == "US.13491208655302741918" for row in rows)
    assert _import(client, response_text(rows)).context["counts"]["error"] == 0


def response_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_list_search_detail_and_tags(org_a, member_client):
    client = member_client(org_a)
    with in_tenant(org_a):
        dora = ContactFactory(name="Dora Explorer", wa_id="5511988887777")
        ContactFactory(name="Someone Else")
    assert (
        client.post(f"/contacts/{dora.pk}/tags/", {"tags": "Gold; gold;  returning "}).status_code
        == 302
    )
    found = client.get("/contacts/", {"q": "+55 11 98888"}).content.decode()
    assert "Dora Explorer" in found and "Someone Else" not in found
    by_tag = client.get("/contacts/", {"tag": "gold"}).content.decode()
    assert "Dora Explorer" in by_tag and "Someone Else" not in by_tag
    detail = client.get(f"/contacts/{dora.pk}/").content.decode()
    assert "gold; returning" in detail


def test_another_org_sees_none_of_the_contacts(org_a, org_b, member_client):
    _import(member_client(org_a), CSV)
    client_b = member_client(org_b)
    assert "Alice" not in client_b.get("/contacts/").content.decode()
    exported = b"".join(client_b.get("/contacts/export.csv").streaming_content).decode()
    assert "447911123456" not in exported
