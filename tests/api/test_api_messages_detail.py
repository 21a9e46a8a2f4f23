"""The message API shows what inbound processing learned: edits (text, edited_at, history),
revokes, the message a reply/edit refers to (`context`), parsed Flow replies, the sender ids
Meta gave. Rows are made by the inbound service in org_a's schema (`db`, rolled back)."""

from __future__ import annotations

from tests.conftest import in_tenant
from tests.inbound.test_edits_revokes import ORIGINAL, deliver, edit, msg, original, revoke
from whatsapp.models import WhatsAppMessage


def test_api_shows_edits_revoke_context_and_flow_reply(db, org_a, client_for):
    flow = msg(
        "wamid.FLOW.1",
        1750857050,
        "interactive",
        {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "t1"}'},
        },
        context={"from": "15550783881", "id": ORIGINAL},
    )
    with in_tenant(org_a):
        deliver(original(), edit(1, "pedido 124"), revoke(), flow)
        ids = dict(WhatsAppMessage.objects.values_list("wamid", "pk"))
    client = client_for(org_a)
    body = client.get(f"/api/v1/messages/{ids[ORIGINAL]}/").json()
    assert body["text"] == "pedido 124" and body["edited_at"] and body["revoked"] is True
    assert body["revoked_at"] and [v["text"] for v in body["edit_history"]] == ["pedido 123"]
    assert body["from_wa_id"] == "5511999990000"
    reply = client.get(f"/api/v1/messages/{ids['wamid.FLOW.1']}/").json()
    assert reply["context"]["wamid"] == ORIGINAL and reply["context"]["id"] == ids[ORIGINAL]
    assert reply["interactive"] == {
        "kind": "nfm_reply",
        "id": "",
        "title": "",
        "description": "",
        "body": "Sent",
        "response": {"flow_token": "t1"},
    }
    listed = {m["wamid"]: m for m in client.get("/api/v1/messages/").json()["results"]}
    assert listed["wamid.EDIT.1"]["context"]["id"] == ids[ORIGINAL]
    assert listed[ORIGINAL]["context"] is None


def test_detail_shows_a_retrying_send_and_a_contacts_opt_out(db, org_a, org_b, client_for):
    """Polling the detail is enough to follow a send: attempts so far and when the next is due;
    the contact shows Meta's marketing opt-out. Another organization sees neither."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import ContactFactory, OutgoingMessageFactory

    due = timezone.now() + timedelta(seconds=30)
    with in_tenant(org_a):
        contact = ContactFactory(opted_out_at=timezone.now(), opt_out_source="meta_131050")
        message = OutgoingMessageFactory(
            contact=contact, attempts=2, next_attempt_at=due, error_code=131000
        )
    body = client_for(org_a).get(f"/api/v1/messages/{message.pk}/").json()
    assert body["status"] == "queued"
    assert body["attempts"] == 2
    assert body["next_attempt_at"] == due.isoformat().replace("+00:00", "Z")
    assert body["error_code"] == 131000
    shown = client_for(org_a).get(f"/api/v1/contacts/{contact.pk}/").json()
    assert shown["opt_out_source"] == "meta_131050" and shown["opted_out_at"]
    assert client_for(org_b).get(f"/api/v1/messages/{message.pk}/").status_code == 404
