"""The small request/response model shared by the Graph API, the control API and the server.

Handlers receive a parsed `Request` and return a `Response`; the server writes it (or, for
fault injection, drops or holds the connection as `Response.action` says).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from whatsapp.sandbox.errors import MetaError, invalid_parameter

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Request:
    """An HTTP request: header names lower-cased, query reduced to first values."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    host: str = "127.0.0.1"

    def json(self) -> Any:
        """The JSON body (`{}` when empty); invalid JSON is Meta's code 100."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid_parameter("Request body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise invalid_parameter("Request body must be a JSON object")
        return data

    @property
    def bearer(self) -> str | None:
        """The access token from `Authorization: Bearer` (or `OAuth`, which the resumable
        upload API documents) or `?access_token=`."""
        header = self.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip() or None
        if header[:6].lower() == "oauth ":
            return header[6:].strip() or None
        return self.query.get("access_token") or None

    def parsed_body(self) -> Any:
        """Best-effort body for recording: JSON if it parses, else a short description."""
        if not self.body:
            return None
        if "json" in self.headers.get("content-type", "") or self.body[:1] in (b"{", b"["):
            try:
                return json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                pass
        return {"_raw_bytes": len(self.body), "content_type": self.headers.get("content-type")}


@dataclass
class Response:
    """What to answer. `action`: answer | drop (close, no bytes) | hold (wait, then close)."""

    status: int = 200
    body: Any = None
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "answer"
    hold_seconds: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()

    def json_body(self) -> Any:
        return None if isinstance(self.body, bytes) else self.body


def ok(body: Any, status: int = 200) -> Response:
    return Response(status=status, body=body)


def error_response(error: MetaError) -> Response:
    return Response(status=error.http_status, body=error.envelope())
