"""`whatsapp.graph`: every call to Meta's Graph API goes through here.

Plain Python, no Django or ORM imports: settings and tokens are passed in by the caller.
- `client.GraphClient`: one method per endpoint, typed results (`types`), typed errors (`errors`).
- `payloads.build_message_payload`: Meta's exact send JSON, validated field by field.
- `retry.RetryPolicy`: the product's single backoff policy.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- customer service windows: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
- business-scoped user ids: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
"""

from __future__ import annotations

from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import (
    GraphAuthError,
    GraphConnectionError,
    GraphError,
    GraphMediaTooLargeError,
    GraphPermanentError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
    error_from_error_object,
    error_from_response,
)
from whatsapp.graph.payloads import (
    PayloadError,
    build_message_payload,
    build_payload_from_parts,
    mark_as_read_payload,
)
from whatsapp.graph.retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retry
from whatsapp.graph.types import (
    ExchangedToken,
    MediaInfo,
    SentMessage,
    Template,
    TemplatePage,
    TokenInfo,
    UploadedMedia,
)

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "ExchangedToken",
    "GraphAuthError",
    "GraphClient",
    "GraphConnectionError",
    "GraphError",
    "GraphMediaTooLargeError",
    "GraphPermanentError",
    "GraphRateLimitedError",
    "GraphTimeoutError",
    "GraphTransientError",
    "MediaInfo",
    "PayloadError",
    "RetryPolicy",
    "SentMessage",
    "Template",
    "TemplatePage",
    "TokenInfo",
    "UploadedMedia",
    "build_message_payload",
    "build_payload_from_parts",
    "call_with_retry",
    "error_from_error_object",
    "error_from_response",
    "mark_as_read_payload",
]
