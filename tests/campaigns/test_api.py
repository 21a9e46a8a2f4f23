"""The campaigns API end to end: JWT clients on the organizations' hosts; the run itself through
the session's Celery worker and the sandbox (committed rows). Tenant B sees and touches
nothing of tenant A's."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.campaigns.conftest import (
    number,
    sends_by_recipient,
    stored_template,
    tagged_contacts,
    wait_state,
)
from tests.clients import admin_client

pytestmark = pytest.mark.integration

DEFINITION = {
    "name": "Spring sale",
    "template_name": "promo",
    "template_language": "en_US",
    "audience": {"tags": ["vip"]},
    "variables": {"code": {"column": "code", "fallback": "SPRING"}},
}


def test_create_plan_start_progress_recipients_results_and_isolation(ready, org_a, org_b, sandbox):
    contacts = tagged_contacts(org_a, 12)
    client = admin_client(org_a)
    created = client.post("/api/v1/campaigns/", DEFINITION, "application/json")
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["state"] == "draft"
    early = client.post(f"/api/v1/campaigns/{campaign_id}/start/")
    assert early.status_code == 409 and early.json()["error"]["code"] == "campaign_state"

    planned = client.post(f"/api/v1/campaigns/{campaign_id}/plan/")
    assert planned.status_code == 200, planned.content
    body = planned.json()
    assert body["state"] == "planned"
    assert body["plan"]["recipients"] == 12 and body["plan"]["blockers"] == []
    assert body["progress"]["counts"]["pending"] == 12

    # Tenant B: not listed, not readable, not startable, not exportable.
    other = admin_client(org_b)
    assert other.get("/api/v1/campaigns/").json()["results"] == []
    for path in ("", "recipients/", "results.csv"):
        assert other.get(f"/api/v1/campaigns/{campaign_id}/{path}").status_code == 404
    for action in ("plan", "start", "pause", "resume", "cancel", "retry"):
        response = other.post(f"/api/v1/campaigns/{campaign_id}/{action}/")
        assert response.status_code == 404, (action, response.content)

    started = client.post(f"/api/v1/campaigns/{campaign_id}/start/")
    assert started.status_code == 200 and started.json()["state"] in ("running", "completed")
    wait_state(org_a, campaign_id, "completed")
    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in contacts}

    detail = client.get(f"/api/v1/campaigns/{campaign_id}/").json()
    assert detail["progress"]["counts"]["accepted"] == 12
    assert detail["progress"]["share_done"] == 1.0 and detail["failures"] == []
    listed = client.get("/api/v1/campaigns/").json()["results"]
    assert [c["id"] for c in listed] == [campaign_id]

    page = client.get(f"/api/v1/campaigns/{campaign_id}/recipients/?state=accepted&page_size=5")
    assert page.status_code == 200
    rows = page.json()["results"]
    assert len(rows) == 5 and all(r["state"] == "accepted" and r["wamid"] for r in rows)
    assert rows[0]["variables"] == {"first_name": "Name0", "code": "SPRING"}
    assert (
        client.get(f"/api/v1/campaigns/{campaign_id}/recipients/?state=failed").json()["results"]
        == []
    )
    bad = client.get(f"/api/v1/campaigns/{campaign_id}/recipients/?state=nonsense")
    assert bad.status_code == 400

    export = client.get(f"/api/v1/campaigns/{campaign_id}/results.csv")
    assert export.status_code == 200 and export["Content-Type"] == "text/csv"
    table = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(table) == 12 and {r["state"] for r in table} == {"accepted"}
    assert {r["address"] for r in table} == {c.wa_id for c in contacts}

    # Nothing failed: a retry resets nothing; pausing a completed campaign is refused.
    assert client.post(f"/api/v1/campaigns/{campaign_id}/retry/").json() == {"reset": 0}
    assert client.post(f"/api/v1/campaigns/{campaign_id}/pause/").status_code == 409


def test_csv_plan_reports_bad_rows_and_a_refused_start_says_why(live_db, org_a, monkeypatch):
    number(org_a)
    stored_template(org_a)
    client = admin_client(org_a)
    definition = DEFINITION | {"audience": {"csv": True}}
    campaign_id = client.post("/api/v1/campaigns/", definition, "application/json").json()["id"]
    data = "phone,code\n+447911123001,A\n+447911123001,B\nabc,C\n+447911123002,\n"
    upload = SimpleUploadedFile("audience.csv", data.encode(), content_type="text/csv")
    planned = client.post(f"/api/v1/campaigns/{campaign_id}/plan/", {"csv": upload})
    assert planned.status_code == 200, planned.content
    plan = planned.json()["plan"]
    assert plan["import"]["counts"] == {"duplicate": 1, "invalid_number": 1}
    assert plan["recipients"] == 0 and plan["unresolved"] == {"first_name": 2}
    assert plan["blockers"] == ["No recipient to send to."]
    refused = client.post(f"/api/v1/campaigns/{campaign_id}/start/")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "campaign_refused"
    assert error["fields"] == {"plan": ["No recipient to send to."]}
