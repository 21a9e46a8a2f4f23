"""`WebhookEdgeMiddleware`: Meta's webhook is answered before the browser layers, nothing else is.

Django test client (the whole middleware stack of the settings, plus a tripwire middleware at the
end that records what reaches it) with the `db` fixture; the same endpoint over real HTTP is
covered by tests/inbound and by this package's gateway tests.
"""

from __future__ import annotations

import pytest
from django.http import HttpRequest

from tenants.models import RawWebhookEvent
from tests.inbound.conftest import encode, signed_headers

URL = "/webhooks/whatsapp/"
REACHED: list[str] = []


class Tripwire:
    """Records the path of every request that reaches the end of the middleware stack."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        REACHED.append(f"{request.get_host()}{request.path_info}")
        return self.get_response(request)


@pytest.fixture
def tripwire(settings):
    REACHED.clear()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.webhooks.test_edge.Tripwire"]
    yield REACHED
    REACHED.clear()


def _post(client, body: bytes):
    headers = signed_headers(body)
    return client.generic(
        "POST",
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"],
    )


def test_a_signed_post_is_stored_without_reaching_the_browser_layers(public_client, tripwire, db):
    body = encode({"object": "whatsapp_business_account", "entry": []})
    response = _post(public_client, body)
    assert response.status_code == 200
    assert RawWebhookEvent.objects.filter(body=body).count() == 1
    assert tripwire == []  # answered at the edge
    # The layers before the edge still ran: request id, security headers.
    assert response["X-Request-ID"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers


def test_a_bad_signature_is_refused_at_the_edge_too(public_client, tripwire, db):
    body = encode({"object": "whatsapp_business_account", "entry": []})
    response = public_client.generic(
        "POST", URL, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256="x"
    )
    assert response.status_code == 403
    assert not RawWebhookEvent.objects.exists()
    assert tripwire == []


def test_other_paths_and_tenant_hosts_go_through_every_layer(
    public_client, tenant_client, org_a, tripwire, db
):
    public_client.get("/webhooks/whatsapp")  # not the exact path (no slash)
    public_client.get("/login/")
    response = _post(tenant_client(org_a), encode({"object": "whatsapp_business_account"}))
    assert response.status_code == 404  # the webhook lives on the public host only
    assert not RawWebhookEvent.objects.exists()
    assert [path.split("/", 1)[1] for path in tripwire] == [
        "webhooks/whatsapp",
        "login/",
        "webhooks/whatsapp/",
    ]
