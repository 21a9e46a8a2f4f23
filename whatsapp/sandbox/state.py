"""Thread-safe in-memory state of one sandbox: tokens, numbers, media, templates, sent and
received messages, recorded requests, the throughput limiter, customer windows and the wa_ids
of registered customers.

Every public method takes `self.lock` (re-entrant), so request threads, webhook workers and the
control API can share one `SandboxState`. Nothing is persisted: `reset()` forgets everything.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from whatsapp.sandbox import wa_ids
from whatsapp.sandbox.config import SandboxConfig
from whatsapp.sandbox.faults import FaultBook


def token_key(token: str) -> str:
    """The sha256 hex of a token: the only form in which tokens are stored or recorded."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_numeric_id(digits: int = 16) -> str:
    """A random id of digits, like Meta's object ids."""
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def new_wamid(to: str) -> str:
    """A unique `wamid.<base64>` shaped like Meta's (protobuf-ish prefix, recipient, random)."""
    raw = b"\x18" + bytes([len(to) % 256]) + to.encode() + b"\x15\x02\x00\x11\x18\x12"
    raw += secrets.token_hex(10).upper().encode() + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


@dataclass
class TokenRecord:
    """What the sandbox knows about a token (keyed by its sha256, never its text)."""

    key: str
    issued_by_sandbox: bool = False
    kind: str = "SYSTEM_USER"
    issued_at: float = field(default_factory=time.time)
    expires_at: float = 0.0  # 0 = never
    revoked: bool = False
    expired: bool = False
    user_id: str = field(default_factory=lambda: new_numeric_id(15))
    # WABAs in the token's granular scopes; None = every WABA (tokens not from Embedded Signup).
    waba_ids: tuple[str, ...] | None = None


@dataclass
class PhoneNumber:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    registered: bool = False
    messages_per_second: int | None = None
    # Health as `GET /{phone-number-id}` reports it (see whatsapp/sandbox/signup.py).
    pin: str | None = None
    status: str = "CONNECTED"
    name_status: str = "APPROVED"
    quality_rating: str = "GREEN"
    messaging_limit: str = "TIER_250"
    throughput_level: str = "STANDARD"
    verified_name: str = "Sandbox Business"


@dataclass
class MediaItem:
    id: str
    data: bytes
    mime_type: str
    sha256: str
    filename: str | None
    phone_number_id: str | None
    created_at: float = field(default_factory=time.time)

    def meta(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "data"} | {"size": len(self.data)}


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    status: str
    components: list[Any]
    parameter_format: str = "POSITIONAL"
    quality_score: str = "UNKNOWN"

    def to_graph(self) -> dict[str, Any]:
        """The template as `GET /{waba}/message_templates` shows it."""
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "quality_score": {"score": self.quality_score},
            "id": self.id,
        }


@dataclass
class SentMessage:
    """A message the platform sent (accepted by the sandbox)."""

    wamid: str
    phone_number_id: str
    waba_id: str
    wa_id: str | None
    user_id: str | None
    type: str
    category: str
    pricing_type: str
    biz_opaque_callback_data: str | None
    body: dict[str, Any]
    created_at: float = field(default_factory=time.time)


class SandboxState:
    """All mutable state of a sandbox; see the module docstring."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.faults = FaultBook()
        self.stopping = threading.Event()
        self.url_key = secrets.token_bytes(32)  # signs media download URLs
        self.reset()

    def reset(self) -> None:
        """Forget everything except the config."""
        with self.lock:
            self.tokens: dict[str, TokenRecord] = {}
            self.tokens_valid_after: float | None = None
            self.phone_numbers: dict[str, PhoneNumber] = {}
            self.media: dict[str, MediaItem] = {}
            self.templates: dict[str, Template] = {}
            self.upload_sessions: dict[str, dict[str, Any]] = {}
            self.upload_handles: dict[str, str] = {}  # resumable upload handle -> MIME type
            self.sent: dict[str, SentMessage] = {}
            self.inbound: dict[str, dict[str, Any]] = {}
            self.windows: dict[tuple[str, str], float] = {}
            self.customers: set[str] = set()  # registered wa_ids (wrote in, or registered)
            self.rate: dict[str, deque[float]] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=self.config.max_recorded_requests)
            self.request_seq = 0
            # Embedded Signup: login codes (code -> its signup) and app subscriptions per WABA.
            self.signup_codes: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.faults.clear()

    # --- tokens ---------------------------------------------------------------------------
    def token_record(self, token: str) -> TokenRecord:
        """The record for `token`, created (as an outside, never-expiring token) on first use."""
        key = token_key(token)
        with self.lock:
            record = self.tokens.get(key)
            if record is None:
                record = self.tokens[key] = TokenRecord(key=key)
            return record

    def token_is_valid(self, token: str) -> tuple[bool, int]:
        """(valid, subcode): any non-empty token, except expired/revoked/fault-expired ones."""
        if not token:
            return False, 467
        with self.lock:
            record = self.token_record(token)
            if record.revoked:
                return False, 467
            if record.expired or (record.expires_at and record.expires_at <= time.time()):
                return False, 463
            if self.tokens_valid_after is not None and not (
                record.issued_by_sandbox and record.issued_at >= self.tokens_valid_after
            ):
                return False, 463
            return True, 0

    def issue_token(self, *, expires_in: float, kind: str = "USER") -> tuple[str, TokenRecord]:
        """A new sandbox-issued token; `expires_in` 0 means never."""
        token = "EAAS" + secrets.token_urlsafe(48).replace("-", "").replace("_", "")
        now = time.time()
        record = TokenRecord(
            key=token_key(token),
            issued_by_sandbox=True,
            kind=kind,
            issued_at=now,
            expires_at=now + expires_in if expires_in else 0.0,
        )
        with self.lock:
            self.tokens[record.key] = record
        return token, record

    def expire_token(self, token: str, *, revoke: bool = False) -> None:
        with self.lock:
            record = self.token_record(token)
            if revoke:
                record.revoked = True
            else:
                record.expired = True

    def expire_tokens(self, mode: str = "known") -> int:
        """`known`: every token seen so far expires. `all`: every token except ones issued
        after now (so outside tokens stop working too). Returns the number of known tokens."""
        with self.lock:
            for record in self.tokens.values():
                record.expired = True
            if mode == "all":
                self.tokens_valid_after = time.time()
            return len(self.tokens)

    # --- phone numbers and windows ---------------------------------------------------------
    def phone_number(self, phone_number_id: str) -> PhoneNumber:
        """The number, auto-registered (default WABA, derived display number) on first use."""
        with self.lock:
            number = self.phone_numbers.get(phone_number_id)
            if number is None:
                display = "1555" + phone_number_id[-7:].rjust(7, "0")
                number = PhoneNumber(phone_number_id, display, self.config.default_waba_id)
                self.phone_numbers[phone_number_id] = number
            return number

    def register_phone_number(
        self, phone_number_id: str, *, display_phone_number: str | None, waba_id: str | None
    ) -> PhoneNumber:
        with self.lock:
            number = self.phone_number(phone_number_id)
            if display_phone_number:
                number.display_phone_number = display_phone_number.lstrip("+")
            if waba_id:
                number.waba_id = waba_id
            number.registered = True
            return number

    # --- customers -------------------------------------------------------------------------
    def register_customer(self, wa_id: str) -> str:
        """Record `wa_id` as a WhatsApp user's id, exactly as given (digits only)."""
        digits = "".join(ch for ch in wa_id if ch.isdigit())
        with self.lock:
            self.customers.add(digits)
        return digits

    def resolve_wa_id(self, typed: str) -> str:
        """The wa_id Meta answers for the number `typed` (see whatsapp.sandbox.wa_ids)."""
        with self.lock:
            return wa_ids.resolve(typed, frozenset(self.customers))

    def open_window(self, phone_number_id: str, customers: list[str], at: float | None = None):
        with self.lock:
            for customer in customers:
                if customer:
                    self.windows[(phone_number_id, customer)] = time.time() if at is None else at

    def window_open(self, phone_number_id: str, customer: str) -> bool:
        with self.lock:
            last = self.windows.get((phone_number_id, customer))
        return last is not None and time.time() - last < self.config.customer_window_seconds

    # --- throughput ------------------------------------------------------------------------
    def set_rate_limit(self, phone_number_id: str, mps: int | None) -> None:
        with self.lock:
            self.phone_number(phone_number_id).messages_per_second = mps

    def rate_allow(self, phone_number_id: str) -> bool:
        """Count one message for the number unless that would exceed its limit in the last 1 s."""
        now = time.monotonic()
        with self.lock:
            limit = self.phone_number(phone_number_id).messages_per_second
            limit = self.config.messages_per_second if limit is None else limit
            window = self.rate.setdefault(phone_number_id, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    # --- media -----------------------------------------------------------------------------
    def add_media(
        self,
        data: bytes,
        mime_type: str,
        *,
        filename: str | None = None,
        phone_number_id: str | None = None,
    ) -> MediaItem:
        item = MediaItem(
            id=new_numeric_id(16),
            data=data,
            mime_type=mime_type,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=filename,
            phone_number_id=phone_number_id,
        )
        with self.lock:
            self.media[item.id] = item
        return item

    # --- templates -------------------------------------------------------------------------
    def find_templates(
        self, *, waba_id: str | None = None, name: str | None = None, language: str | None = None
    ) -> list[Template]:
        with self.lock:
            return [
                t
                for t in self.templates.values()
                if (waba_id is None or t.waba_id == waba_id)
                and (name is None or t.name == name)
                and (language is None or t.language == language)
            ]

    # --- recording -------------------------------------------------------------------------
    def record_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.request_seq += 1
            entry["seq"] = self.request_seq
            self.requests.append(entry)

    def recorded_requests(
        self, *, path_contains: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.requests)
        return [
            r
            for r in items
            if (not path_contains or path_contains in r["path"])
            and (since is None or r["time"] >= since)
        ]
