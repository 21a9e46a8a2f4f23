"""The template pages through Django's test client on the organization's host: who may open
what (agents view and pick, admins change), the live review fragment, the picker's
pre-filled variables, and another organization's templates and contacts out of reach by id."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import in_tenant
from tests.factories import ContactFactory
from whatsapp.message_templates.models import MessageTemplate, TemplateNotice

pytestmark = pytest.mark.django_db

NAMED_BODY = {
    "type": "BODY",
    "text": "Hi {{first_name}}, your code is {{code}}.",
    "example": {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ana"},
            {"param_name": "code", "example": "42"},
        ]
    },
}


def _client(tenant_client, org, user=None):
    client = tenant_client(org)
    client.force_login(user or get_user_model().objects.get(username=org.admin_email))
    return client


def _template(org, **fields) -> MessageTemplate:
    values = {
        "waba_id": "w1",
        "name": "welcome",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [NAMED_BODY],
        "status": "APPROVED",
        "quality_score": "GREEN",
    }
    values.update(fields)
    with in_tenant(org):
        return MessageTemplate.objects.create(**values)


def test_list_shows_status_quality_reasons_notices_and_filters(org_a, tenant_client) -> None:
    _template(org_a)
    rejected = _template(
        org_a,
        name="promo",
        category="MARKETING",
        status="REJECTED",
        quality_score="UNKNOWN",
        rejection_reason="INVALID_FORMAT",
        rejection_recommendation="Remove the variable at the end.",
    )
    with in_tenant(org_a):
        TemplateNotice.objects.create(
            template=rejected, kind="rejected", message="promo (en_US) was rejected by Meta."
        )
    client = _client(tenant_client, org_a)
    page = client.get("/templates/").content.decode()
    assert "welcome" in page and "promo" in page
    assert 'class="badge ok" data-testid="status">APPROVED' in page
    assert 'class="badge bad" data-testid="status">REJECTED' in page
    assert "Rejected: INVALID_FORMAT. Remove the variable at the end." in page
    assert "promo (en_US) was rejected by Meta." in page
    assert 'href="/templates/" aria-current="page">Templates' in page
    filtered = client.get("/templates/?status=REJECTED").content.decode()
    assert "promo" in filtered and "welcome</strong>" not in filtered
    assert "welcome</strong>" in client.get("/templates/?name=welc").content.decode()


def test_agents_view_and_pick_but_only_admins_change(org_a, tenant_client, make_user) -> None:
    template = _template(org_a)
    with in_tenant(org_a):
        contact = ContactFactory(wa_id="15550001111", name="Ana Lima")
    agent = _client(tenant_client, org_a, make_user("agent@example.com", org_a, role="member"))
    page = agent.get("/templates/")
    assert page.status_code == 200 and b"welcome" in page.content
    assert b"New template" not in page.content and b"Sync now" not in page.content
    for method, path in (
        ("get", "/templates/new/"),
        ("post", "/templates/new/"),
        ("post", "/templates/sync/"),
        ("post", "/templates/review/"),
        ("get", f"/templates/{template.pk}/edit/"),
        ("post", f"/templates/{template.pk}/delete/"),
    ):
        assert getattr(agent, method)(path).status_code == 403, path
    picker = agent.get(f"/templates/picker/?contact={contact.pk}&template={template.pk}")
    assert picker.status_code == 200
    assert b'name="var_first_name" type="text" value="Ana"' in picker.content
    assert b'name="var_code" type="text" value=""' in picker.content
    with in_tenant(org_a):
        assert MessageTemplate.objects.filter(pk=template.pk).exists()
    # A stranger is sent to sign in.
    assert tenant_client(org_a).get("/templates/")["Location"].startswith("/login/")


def test_live_review_renders_problems_and_preview(org_a, tenant_client) -> None:
    client = _client(tenant_client, org_a)
    blank = client.get("/templates/new/").content.decode()
    assert "checked here as you type" in blank and "Passes the checks" not in blank
    form = {
        "name": "Bad Name",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "body_text": "Hi {{1}}, welcome!",
        "body_examples": "",
    }
    fragment = client.post("/templates/review/", form).content.decode()
    assert "<strong>Name</strong>: " in fragment
    assert "Give an example for each of the 1 variable(s) of the body." in fragment
    assert "Hi {{1}}, welcome!" in fragment
    fixed = client.post(
        "/templates/review/", dict(form, name="welcome_2", body_examples="Ana")
    ).content.decode()
    assert "Passes the checks" in fixed and "Hi Ana, welcome!" in fixed


def test_submit_refused_locally_names_the_field_and_sends_nothing(org_a, tenant_client) -> None:
    client = _client(tenant_client, org_a)
    response = client.post(
        "/templates/new/",
        {"name": "x", "language": "en_US", "category": "UTILITY", "body_text": "{{1}}"},
    )
    assert response.status_code == 400
    assert b"A variable cannot be at the very start or end of the body." in response.content
    with in_tenant(org_a):
        assert not MessageTemplate.objects.exists()


def test_picker_lists_only_approved_templates(org_a, tenant_client) -> None:
    _template(org_a)
    _template(org_a, name="draft", status="PENDING")
    _template(org_a, name="gone", deleted_at_meta=True)
    with in_tenant(org_a):
        contact = ContactFactory(wa_id="15550001112")
    page = _client(tenant_client, org_a).get(f"/templates/picker/?contact={contact.pk}")
    assert b"welcome (en_US)" in page.content
    assert b"draft" not in page.content and b"gone" not in page.content


def test_another_organizations_templates_and_contacts_are_out_of_reach(
    org_a, org_b, tenant_client
) -> None:
    theirs = _template(org_b, name="their_secret")
    with in_tenant(org_b):
        contact = ContactFactory(wa_id="15550002222")
    client = _client(tenant_client, org_a)
    assert b"their_secret" not in client.get("/templates/").content
    assert client.get(f"/templates/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/templates/{theirs.pk}/delete/").status_code == 404
    assert client.get(f"/templates/picker/?contact={contact.pk}").status_code == 404
    sent = client.post("/templates/picker/send/", {"contact": contact.pk, "template": theirs.pk})
    assert sent.status_code == 404
    with in_tenant(org_b):
        assert MessageTemplate.objects.filter(pk=theirs.pk).exists()
    # Their own admin reaches it; name, language and kind of variables are fixed there.
    edit = _client(tenant_client, org_b).get(f"/templates/{theirs.pk}/edit/")
    assert edit.status_code == 200
    assert b'value="their_secret" maxlength="512" readonly' in edit.content
    assert b'<option value="NAMED" selected>' in edit.content
    assert b'value="POSITIONAL"' not in edit.content


def test_picker_send_refusals_are_shown_and_queue_nothing(org_a, tenant_client) -> None:
    """The send path's own checks (whatsapp.message_templates.services.send) answer in the
    fragment: an empty variable, then a template Meta paused after it was picked."""
    from tests.factories import PhoneNumberFactory
    from whatsapp.models import WhatsAppMessage

    with in_tenant(org_a):
        number = PhoneNumberFactory(organization=org_a.organization)
        contact = ContactFactory(wa_id="15550003333", name="Ana")
    template = _template(org_a, waba_id=number.waba_id)
    client = _client(tenant_client, org_a)
    form = {"contact": contact.pk, "template": template.pk, "var_first_name": "Ana", "var_code": ""}
    empty = client.post("/templates/picker/send/", form, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200  # htmx swaps 2xx answers only
    assert b'role="alert" class="errorlist">{{code}}: Must not be empty.' in empty.content
    # The conversation's number is carried through; a number not of this organization refused.
    other = client.post("/templates/picker/send/", dict(form, var_code="1", phone_number_id="9"))
    assert b"no WhatsApp number with that phone_number_id" in other.content
    picked = client.get(
        "/templates/picker/",
        {"contact": contact.pk, "template": template.pk, "phone_number_id": number.phone_number_id},
    )
    assert f'name="phone_number_id" value="{number.phone_number_id}"'.encode() in picked.content
    with in_tenant(org_a):
        MessageTemplate.objects.filter(pk=template.pk).update(status="PAUSED")
    paused = client.post("/templates/picker/send/", dict(form, var_code="42"))
    assert paused.status_code == 400
    assert b"Meta paused it for low quality" in paused.content
    with in_tenant(org_a):
        assert not WhatsAppMessage.objects.exists()
