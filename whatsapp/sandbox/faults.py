"""Fault injection: what the next matching Graph requests should suffer.

A fault matches by optional method, path regex and phone_number_id, fires for the next `count`
matching requests (None = until cleared) and/or with `probability`. Kinds:

- `http_5xx`: answer `status` (500/503) with Meta's code 1 / 2 envelope.
- `timeout`: hold the request `seconds`, then close the connection without answering.
- `timeout_after_accept`: process the send normally (recorded, wamid, status webhooks), then
  hold and close without answering, like Meta accepting a message whose response is lost.
- `slow_after_accept`: process the send normally (recorded, wamid, status webhooks), then wait
  `ms` milliseconds before answering, so the status webhooks can arrive before the answer
  (Meta sends them independently of the API response).
- `quality_hold`: accept the send (recorded, wamid) but answer `message_status:
  "held_for_quality_assessment"` and send no status webhook, like Meta pacing a template
  while it assesses quality (https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/template-pacing).
- `delay`: sleep `ms` milliseconds, then answer normally.
- `drop`: close the connection at once without a response.
- `error_code`: answer Meta error `code` (+ `subcode`) with its HTTP status (or `status`).
- `expire_tokens`: not kept as a fault; applied once when added (see `SandboxState`).
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = (
    "http_5xx",
    "timeout",
    "timeout_after_accept",
    "slow_after_accept",
    "quality_hold",
    "delay",
    "drop",
    "error_code",
    "expire_tokens",
)
_random = secrets.SystemRandom()


@dataclass
class Fault:
    """One active fault; `remaining` counts down from `count` as requests match."""

    id: str
    kind: str
    count: int | None = None
    probability: float | None = None
    path_regex: str | None = None
    phone_number_id: str | None = None
    method: str | None = None
    status: int | None = None
    code: int | None = None
    subcode: int | None = None
    seconds: float = 30.0
    ms: int = 0
    remaining: int | None = None
    fired: int = 0

    def matches(self, method: str, path: str, phone_number_id: str | None) -> bool:
        """Whether this request is in the fault's scope (ignores count and probability)."""
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_regex and not re.search(self.path_regex, path):
            return False
        return not (self.phone_number_id and self.phone_number_id != phone_number_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fault_from_dict(data: dict[str, Any]) -> Fault:
    """Validate control-API input into a `Fault`; raises ValueError on bad input."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    allowed = {
        "count",
        "probability",
        "path_regex",
        "phone_number_id",
        "method",
        "status",
        "code",
        "subcode",
        "seconds",
        "ms",
    }
    unknown = set(data) - allowed - {"kind", "mode"}
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    fields = {k: v for k, v in data.items() if k in allowed and v is not None}
    if "path_regex" in fields:
        re.compile(fields["path_regex"])
    if kind == "error_code" and "code" not in fields:
        raise ValueError("error_code faults need a code")
    if kind == "http_5xx":
        fields.setdefault("status", 503)
    if "probability" in fields and not 0 <= float(fields["probability"]) <= 1:
        raise ValueError("probability must be between 0 and 1")
    fault = Fault(id="flt_" + secrets.token_hex(6), kind=kind, **fields)
    if fault.count is None and fault.probability is None:
        fault.count = 1
    fault.remaining = fault.count
    return fault


class FaultBook:
    """The thread-safe list of active faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, phone_number_id: str | None) -> list[Fault]:
        """The faults that fire for this request, in the order added: any `delay`s plus at most
        one answering fault. Counts are consumed and exhausted faults removed."""
        fired: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path, phone_number_id):
                    continue
                if fault.probability is not None and _random.random() >= fault.probability:
                    continue
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                fired.append(fault)
                if fault.kind != "delay":
                    break  # one answering fault per request; later ones wait their turn
        return fired
