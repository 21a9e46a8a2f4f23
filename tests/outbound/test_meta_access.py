"""whatsapp.services.meta_access: the token lifecycle against the sandbox over real HTTP
(integration), the beat refresh in a real worker, and the exchange endpoint with its isolation.

Refresh = Meta's long-lived exchange (`oauth/access_token`,
https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived); on
failure the organization's sending halts. The sandbox accepts any unexpired token and issues new
ones.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.errors import CredentialInvalidError
from tenants.models import WhatsAppCredential
from tenants.services.credentials import credential_for, credential_store
from tests.clients import obtain_tokens
from tests.conftest import run_concurrently, wait_for
from whatsapp.graph.payloads import build_message_payload
from whatsapp.services.meta_access import (
    TokenRefreshError,
    access_token_get,
    access_token_refresh,
    credentials_expiring,
    graph_client_for_org,
)

pytestmark = pytest.mark.integration

OLD_TOKEN = "EAAold-long-lived-token-for-tests-0001"
NUMBER = "130000000000001"


def _exchanges(sandbox) -> list[dict]:
    return sandbox.requests(path_contains="oauth/access_token")


@pytest.mark.django_db
def test_refresh_exchanges_and_stores_the_new_token_encrypted(org_a, graph_url, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    credential_store(
        organization=org_a.organization,
        access_token=OLD_TOKEN,
        expires_at=timezone.now() + timedelta(days=2),
    )
    new_token = access_token_refresh(org_id=org_a.org_id)

    assert new_token != OLD_TOKEN
    assert access_token_get(org_id=org_a.org_id) == new_token
    credential = credential_for(org_a.org_id)
    assert new_token not in credential.encrypted_token
    assert credential.expires_at > timezone.now() + timedelta(days=59)
    assert len(_exchanges(sandbox)) == 1
    assert OLD_TOKEN not in caplog.text
    assert new_token not in caplog.text


@pytest.mark.django_db
def test_token_rejected_during_a_send_is_refreshed_once_and_the_send_succeeds(
    org_a, graph_url, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    credential_store(organization=org_a.organization, access_token=OLD_TOKEN)
    sandbox.set_window_enforcement(False)
    # Meta rejects the token once (code 190), as when a session is invalidated mid-flight.
    sandbox.add_fault("error_code", code=190, subcode=463, count=1, path_regex="/messages$")
    payload = build_message_payload(
        recipient="15551234567", message_type="text", content={"body": "hello"}
    )

    with graph_client_for_org(org_a.org_id) as client:
        sent = client.send_message(NUMBER, payload)

    assert sent.wamid.startswith("wamid.")
    assert len(_exchanges(sandbox)) == 1
    sends = sandbox.requests(path_contains="/messages")
    assert [request["status"] for request in sends] == [401, 200]
    assert access_token_get(org_id=org_a.org_id) != OLD_TOKEN
    assert OLD_TOKEN not in caplog.text


@pytest.mark.django_db
def test_failed_refresh_halts_the_organization_and_says_why(org_a, graph_url, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    credential_store(organization=org_a.organization, access_token=OLD_TOKEN)
    sandbox.expire_token(OLD_TOKEN)  # an expired token cannot be exchanged either
    payload = build_message_payload(
        recipient="15551234567", message_type="text", content={"body": "hello"}
    )

    with (
        pytest.raises(TokenRefreshError, match="190"),
        graph_client_for_org(org_a.org_id) as client,
    ):
        client.send_message(NUMBER, payload)

    credential = credential_for(org_a.org_id)
    assert credential.state == WhatsAppCredential.State.INVALID
    assert "190" in credential.last_error
    with pytest.raises(CredentialInvalidError, match="sending is halted"):
        access_token_get(org_id=org_a.org_id)
    assert [r["status"] for r in sandbox.requests(path_contains="/messages")] == [401]
    assert OLD_TOKEN not in caplog.text
    assert OLD_TOKEN not in credential.last_error

    # Connecting a new token lifts the halt.
    credential_store(organization=org_a.organization, access_token="EAAbrand-new-token")
    assert access_token_get(org_id=org_a.org_id) == "EAAbrand-new-token"


def test_two_workers_refreshing_at_once_exchange_once_and_agree(live_db, org_a, graph_url, sandbox):
    credential_store(organization=org_a.organization, access_token=OLD_TOKEN)
    results = run_concurrently(
        lambda: access_token_refresh(org_id=org_a.org_id, stale_token=OLD_TOKEN)
    )

    assert results[0] == results[1] != OLD_TOKEN
    assert access_token_get(org_id=org_a.org_id) == results[0]
    assert len(_exchanges(sandbox)) == 1


@pytest.mark.django_db
def test_only_valid_soon_expiring_tokens_are_due(org_a, org_b):
    credential_store(
        organization=org_a.organization,
        access_token="EAAsoon",
        expires_at=timezone.now() + timedelta(days=3),
    )
    credential_store(
        organization=org_b.organization,
        access_token="EAAlater",
        expires_at=timezone.now() + timedelta(days=40),
    )
    assert credentials_expiring(within=timedelta(days=7)) == [org_a.org_id]
    WhatsAppCredential.objects.filter(organization=org_a.organization).update(state="invalid")
    assert credentials_expiring(within=timedelta(days=7)) == []


def test_beat_refresh_runs_in_a_real_worker(live_db, celery_worker, org_a, graph_url, sandbox):
    from whatsapp.tasks.tokens import refresh_expiring_tokens_task

    credential_store(
        organization=org_a.organization,
        access_token=OLD_TOKEN,
        expires_at=timezone.now() + timedelta(days=1),
    )
    # The dispatcher runs here; the refresh it fans out runs in the worker.
    assert refresh_expiring_tokens_task() == "dispatched 1 refresh(es)"
    wait_for(lambda: access_token_get(org_id=org_a.org_id) != OLD_TOKEN, timeout=20)
    assert credential_for(org_a.org_id).expires_at > timezone.now() + timedelta(days=59)


@pytest.mark.django_db
class TestExchangeEndpoint:
    URL = "/api/v1/whatsapp/token/exchange/"

    def test_admin_exchanges_a_short_lived_token_and_never_sees_it(
        self, org_a, tenant_client, graph_url, sandbox
    ):
        client = tenant_client(org_a)
        access = obtain_tokens(org_a)["access"]
        response = client.post(
            self.URL,
            {"short_lived_token": "EAAshort-lived-dashboard-token"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {access}",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        stored = access_token_get(org_id=org_a.org_id)
        assert stored.startswith("EAAS")
        assert stored not in response.content.decode()
        assert "EAAshort-lived-dashboard-token" not in response.content.decode()
        assert body["state"] == "valid"
        assert body["expires_at"]

    def test_refused_token_answers_metas_reason_without_the_token(
        self, org_a, tenant_client, graph_url, sandbox
    ):
        sandbox.expire_token("EAAexpired-short-token")
        client = tenant_client(org_a)
        response = client.post(
            self.URL,
            {"short_lived_token": "EAAexpired-short-token"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {obtain_tokens(org_a)['access']}",
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "token_exchange_failed"
        assert "EAAexpired-short-token" not in response.content.decode()

    def test_members_who_are_not_admins_and_other_orgs_are_refused(
        self, org_a, org_b, tenant_client, make_user, graph_url
    ):
        make_user("member@alpha.test", org=org_a, role="member")
        client = tenant_client(org_a)
        member = obtain_tokens(org_a, "member@alpha.test")["access"]
        as_member = client.post(
            self.URL,
            {"short_lived_token": "EAAshort-lived-dashboard-token"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {member}",
        )
        assert as_member.status_code == 403

        token_of_a = obtain_tokens(org_a)["access"]
        on_b = tenant_client(org_b).post(
            self.URL,
            {"short_lived_token": "EAAshort-lived-dashboard-token"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token_of_a}",
        )
        assert on_b.status_code == 401
        assert not WhatsAppCredential.objects.filter(organization=org_b.organization).exists()


def test_the_beat_entry_names_a_registered_task(settings):
    """Unit: beat sends the task by name; a stale dotted path would be dropped by the worker."""
    from saas_platform.celery import app

    app.loader.import_default_modules()
    name = settings.CELERY_BEAT_SCHEDULE["refresh-expiring-tokens"]["task"]
    assert name == "whatsapp.tasks.tokens.refresh_expiring_tokens_task"
    assert name in app.tasks


def test_a_callers_own_token_is_used_as_is_and_never_refreshed(graph_url, sandbox):
    """send_whatsapp_message (scripts) authenticates through meta_access with the given token:
    a rejected token is raised, not exchanged (it is nobody's stored credential)."""
    from whatsapp.graph.errors import GraphAuthError
    from whatsapp.services.outbound.direct import send_whatsapp_message

    sandbox.set_window_enforcement(False)
    sent = send_whatsapp_message(OLD_TOKEN, "+15551234567", "text", "hi", phone_number_id=NUMBER)
    assert sent.wamid.startswith("wamid.")
    sandbox.expire_token(OLD_TOKEN)
    with pytest.raises(GraphAuthError):
        send_whatsapp_message(OLD_TOKEN, "+15551234567", "text", "hi", phone_number_id=NUMBER)
    assert _exchanges(sandbox) == []


def test_graph_clients_are_built_only_by_meta_access():
    """Unit (reads the source): every authenticated client comes from meta_access."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    builders = set()
    for app in ("whatsapp", "tenants", "billing_stub"):
        for path in (root / app).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(("whatsapp/graph/", "whatsapp/sandbox/")):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "GraphClient":
                    builders.add(relative)
    assert builders == {"whatsapp/services/meta_access.py"}
