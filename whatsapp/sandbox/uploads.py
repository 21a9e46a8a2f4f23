"""The Resumable Upload API, as template media headers use it (Meta: resumable upload API):

1. `POST /{app-id}/uploads?file_name&file_length&file_type` -> `{"id": "upload:<session>"}`;
2. `POST /upload:<session>` with header `file_offset` and the bytes as the body ->
   `{"h": "<handle>"}` once every byte arrived (a short body answers the same `h`-less progress
   as Meta: `{"id", "file_offset"}` on `GET /upload:<session>`);
3. the handle goes in a media header's `example.header_handle` when creating a template.

Meta: https://developers.facebook.com/docs/graph-api/guides/upload
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from whatsapp.sandbox.errors import MetaError, invalid_parameter
from whatsapp.sandbox.protocol import Request, Response, ok
from whatsapp.sandbox.state import SandboxState

FILE_TYPES = ("image/jpeg", "image/png", "video/mp4", "application/pdf")


def start(state: SandboxState, app_id: str, request: Request) -> Response:
    if app_id != state.config.app_id:
        raise MetaError(100, details=f"Unknown app id {app_id}", subcode=33)
    query = request.query
    file_type = query.get("file_type", "")
    if file_type not in FILE_TYPES:
        raise invalid_parameter(f"Param file_type must be one of {', '.join(FILE_TYPES)}")
    try:
        length = int(query.get("file_length", ""))
    except ValueError:
        raise invalid_parameter("Param file_length must be a positive integer") from None
    if length < 1:
        raise invalid_parameter("Param file_length must be a positive integer")
    session = "upload:" + base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("=")
    with state.lock:
        state.upload_sessions[session] = {
            "length": length,
            "type": file_type,
            "name": query.get("file_name", ""),
            "data": b"",
        }
    return ok({"id": session})


def _session(state: SandboxState, session_id: str) -> dict[str, Any]:
    with state.lock:
        session = state.upload_sessions.get(session_id)
    if session is None:
        raise MetaError(100, details=f"Upload session {session_id} does not exist", subcode=33)
    return session


def status(state: SandboxState, session_id: str) -> Response:
    session = _session(state, session_id)
    return ok({"id": session_id, "file_offset": len(session["data"])})


def upload(state: SandboxState, session_id: str, request: Request) -> Response:
    session = _session(state, session_id)
    offset = request.headers.get("file_offset")
    if offset is None or not offset.isdigit() or int(offset) != len(session["data"]):
        raise invalid_parameter(f"Header file_offset must be {len(session['data'])}")
    with state.lock:
        session["data"] += request.body
        data = session["data"]
    if len(data) > session["length"]:
        raise invalid_parameter("More bytes than file_length")
    if len(data) < session["length"]:
        return ok({"id": session_id, "file_offset": len(data)})
    handle = "4::" + base64.b64encode(secrets.token_bytes(18)).decode()
    with state.lock:
        state.upload_handles[handle] = session["type"]
    return ok({"h": handle})
