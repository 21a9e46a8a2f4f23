"""POST /api/v1/contacts/{id}/merge/: org admins fold one contact into another of the same
organization; everyone else is refused, and another organization's contacts are 404."""

from __future__ import annotations

from tests.clients import api_client, obtain_tokens
from tests.conftest import in_tenant
from whatsapp.models import Contact, ContactMerge, WhatsAppMessage


def url(pk: int) -> str:
    return f"/api/v1/contacts/{pk}/merge/"


def post(client, pk: int, body: dict):
    return client.post(url(pk), body, content_type="application/json")


def test_admin_merges_two_contacts(org_a, rows, client_for):
    survivor = rows(org_a).contact()
    merged = rows(org_a).contact(user_id="BR.APIMERGE1")
    message = rows(org_a).message(contact=merged)
    response = post(client_for(org_a), survivor.pk, {"merged_id": merged.pk, "reason": "dup"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["survivor_contact_id"] == survivor.pk and body["merged_contact_id"] == merged.pk
    assert body["merged_user_id"] == "BR.APIMERGE1" and body["moved_messages"] == 1
    assert body["actor"].startswith("user:") and body["reason"] == "dup"
    with in_tenant(org_a):
        assert not Contact.objects.filter(pk=merged.pk).exists()
        assert WhatsAppMessage.objects.get(pk=message.pk).contact_id == survivor.pk
        assert Contact.objects.get(pk=survivor.pk).user_id == "BR.APIMERGE1"


def test_bad_bodies_are_400(org_a, rows, client_for):
    contact = rows(org_a).contact()
    client = client_for(org_a)
    same = post(client, contact.pk, {"merged_id": contact.pk})
    assert same.status_code == 400
    assert same.json()["error"]["code"] == "contact_merge_invalid"
    assert post(client, contact.pk, {}).status_code == 400
    assert post(client, contact.pk, {"merged_id": "x"}).status_code == 400
    with in_tenant(org_a):
        assert Contact.objects.filter(pk=contact.pk).exists()


def test_another_tenants_contact_is_404_and_untouched(org_a, org_b, rows, client_for):
    theirs = rows(org_b).contact()
    their_message = rows(org_b).message(contact=theirs)
    ours = rows(org_a).contact()
    admin_a = client_for(org_a)
    assert post(admin_a, ours.pk, {"merged_id": theirs.pk}).status_code == 404
    assert post(admin_a, theirs.pk, {"merged_id": ours.pk}).status_code == 404
    with in_tenant(org_b):
        assert Contact.objects.filter(pk=theirs.pk).exists()
        assert WhatsAppMessage.objects.get(pk=their_message.pk).contact_id == theirs.pk
        assert not ContactMerge.objects.exists()
    with in_tenant(org_a):
        assert Contact.objects.filter(pk=ours.pk).exists()


def test_only_org_admins_may_merge(org_a, org_b, rows, make_user, api_key, client_for):
    survivor, merged = rows(org_a).contact(), rows(org_a).contact()
    make_user("member@alpha-merge.test", org=org_a, role="member")
    member = api_client(org_a, token=obtain_tokens(org_a, "member@alpha-merge.test")["access"])
    assert post(member, survivor.pk, {"merged_id": merged.pk}).status_code == 403
    by_key = api_client(org_a, api_key=api_key(org_a))
    assert post(by_key, survivor.pk, {"merged_id": merged.pk}).status_code == 403
    assert post(api_client(org_a), survivor.pk, {"merged_id": merged.pk}).status_code in {401, 403}
    # org_b's admin, on org_a's host, is not org_a's admin.
    admin_b_on_a = api_client(org_a, token=obtain_tokens(org_b)["access"])
    assert post(admin_b_on_a, survivor.pk, {"merged_id": merged.pk}).status_code in {401, 403}
    with in_tenant(org_a):
        assert Contact.objects.filter(pk__in=[survivor.pk, merged.pk]).count() == 2
