"""Unit tests of whatsapp.graph.errors: Meta's error envelope (Meta: error codes) → exception
for each code family, unknown codes and non-JSON bodies. Pure functions: no HTTP.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import logging

import pytest

from whatsapp.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphPermanentError,
    GraphRateLimitedError,
    GraphTransientError,
    error_from_error_object,
    error_from_response,
)


def envelope(code: int, **extra: object) -> dict[str, object]:
    return {"error": {"message": "boom", "type": "OAuthException", "code": code, **extra}}


@pytest.mark.parametrize(
    ("code", "family"),
    [
        (190, GraphAuthError),
        (102, GraphAuthError),
        (4, GraphRateLimitedError),
        (17, GraphRateLimitedError),
        (80007, GraphRateLimitedError),
        (130429, GraphRateLimitedError),
        (131056, GraphRateLimitedError),
        (131057, GraphRateLimitedError),
        (1, GraphTransientError),
        (2, GraphTransientError),
        (131000, GraphTransientError),
        (131016, GraphTransientError),
        (0, GraphPermanentError),
        (3, GraphPermanentError),
        (10, GraphPermanentError),
        (100, GraphPermanentError),
        (200, GraphPermanentError),
        (299, GraphPermanentError),
        (368, GraphPermanentError),
        (131008, GraphPermanentError),
        (131009, GraphPermanentError),
        (131021, GraphPermanentError),
        (131026, GraphPermanentError),
        (131030, GraphPermanentError),
        (131047, GraphPermanentError),
        (131048, GraphPermanentError),
        (131049, GraphPermanentError),
        (131050, GraphPermanentError),
        (131051, GraphPermanentError),
        (131053, GraphPermanentError),
        (132000, GraphPermanentError),
        (132012, GraphPermanentError),
        (132016, GraphPermanentError),
        (133010, GraphPermanentError),
    ],
)
def test_code_registry_picks_the_family(code, family):
    error = error_from_response(400, envelope(code))
    assert type(error) is family
    assert error.code == code


def test_envelope_fields_are_kept():
    body = envelope(
        131047,
        error_subcode=2494010,
        fbtrace_id="AXyZ",
        error_data={"messaging_product": "whatsapp", "details": "Re-engagement message"},
        error_user_title="Outside window",
        error_user_msg="Send a template",
    )
    error = error_from_response(400, body)
    assert (error.code, error.subcode, error.fbtrace_id) == (131047, 2494010, "AXyZ")
    assert (error.http_status, error.type, error.message) == (400, "OAuthException", "boom")
    assert error.details == "Re-engagement message"
    assert error.user_title == "Outside window"
    assert "131047" in str(error) and "AXyZ" in str(error)
    assert "GraphPermanentError(code=131047" in repr(error)


def test_auth_error_knows_expired_subcode():
    error = error_from_response(401, envelope(190, error_subcode=463))
    assert isinstance(error, GraphAuthError)
    assert error.token_expired
    assert not error_from_response(401, envelope(190, error_subcode=460)).token_expired


@pytest.mark.parametrize(
    ("code", "floor", "growth"),
    [(130429, 1.0, None), (131056, 1.0, 4.0), (131057, 60.0, None), (4, 300.0, None)],
)
def test_rate_limits_carry_retry_after(code, floor, growth):
    error = error_from_response(400, envelope(code))
    assert isinstance(error, GraphRateLimitedError)
    assert error.retry_after == floor
    assert error.retry_after_growth == growth


def test_retry_after_header_raises_the_floor_never_lowers_it():
    assert error_from_response(400, envelope(130429), retry_after=7).retry_after == 7
    assert error_from_response(400, envelope(80007), retry_after=2).retry_after == 300


def test_unknown_code_falls_back_by_status_and_logs(caplog):
    caplog.set_level(logging.WARNING, logger="whatsapp.graph")
    error = error_from_response(400, envelope(987654))
    assert type(error) is GraphError
    assert "987654" in caplog.text
    assert type(error_from_response(503, envelope(987654))) is GraphTransientError


def test_non_json_5xx_is_transient():
    error = error_from_response(502, b"<html><body>Bad Gateway</body></html>")
    assert type(error) is GraphTransientError
    assert error.http_status == 502
    assert error.code is None
    assert type(error_from_response(503, b"")) is GraphTransientError


def test_non_json_4xx_is_the_base_class_and_429_is_rate_limited():
    assert type(error_from_response(404, "Not Found")) is GraphError
    limited = error_from_response(429, b"slow down", retry_after=3)
    assert isinstance(limited, GraphRateLimitedError)
    assert limited.retry_after == 3


def test_string_code_and_webhook_error_objects_use_the_same_registry():
    webhook_error = {
        "code": "131026",
        "title": "Message undeliverable",
        "error_data": {"details": "Not on WhatsApp"},
    }
    error = error_from_error_object(webhook_error)
    assert isinstance(error, GraphPermanentError)
    assert error.code == 131026
    assert error.message == "Message undeliverable"
    assert error.details == "Not on WhatsApp"


def test_secrets_in_meta_messages_are_scrubbed():
    body = envelope(190, error_data={"details": "token EAAGsecretvalue was rejected"})
    body["error"]["message"] = (
        "Invalid OAuth access token - Cannot parse access_token=EAAGsecretvalue"  # type: ignore[index]
    )
    error = error_from_response(401, body, secrets=["EAAGsecretvalue"])
    assert "EAAGsecretvalue" not in str(error)
    assert "EAAGsecretvalue" not in repr(error)
    assert "EAAGsecretvalue" not in (error.details or "")
