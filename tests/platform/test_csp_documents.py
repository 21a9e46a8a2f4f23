"""CSP is sent with documents (HTML) and left off inert answers (JSON, the webhook's text/plain).

Django test client on the public host (`db`)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.inbound.conftest import signed_headers

CSP_HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def csp_of(response) -> list[str]:
    return [response[h] for h in CSP_HEADERS if h in response]


@pytest.mark.django_db
def test_documents_carry_the_policy_and_inert_answers_do_not() -> None:
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    page = client.get("/login/")
    assert page["Content-Type"].startswith("text/html")
    (policy,) = csp_of(page)
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy

    body = b'{"object":"whatsapp_business_account","entry":[]}'
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed_headers(body).items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    ack = client.generic(
        "POST", "/webhooks/whatsapp/", data=body, content_type="application/json", **extra
    )
    assert ack.status_code == 200 and ack["Content-Type"].startswith("text/plain")
    assert csp_of(ack) == []
    assert ack["X-Content-Type-Options"] == "nosniff"  # why no policy is needed there
