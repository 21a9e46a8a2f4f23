"""Frozen results of Graph API calls. Parsers are tolerant: Meta adds and renames fields often
(Meta: Cloud API overview), so unknown data is kept in `raw` and missing optional data becomes None.

Secrets (`ExchangedToken.access_token`) are excluded from `repr()` so they never reach logs.

Meta pages:
- Cloud API overview: https://developers.facebook.com/docs/whatsapp/cloud-api/overview/
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
- message templates reference: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from whatsapp.graph.facts import timestamp_parse

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _raw(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


def _raw_field() -> Any:
    return field(default_factory=lambda: _EMPTY, repr=False, compare=False, hash=False)


def parse_int(value: Any, default: int = 0) -> int:
    """`file_size` and similar arrive as numbers or strings ("12345"); parse both."""
    if isinstance(value, bool) or value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


# Unix seconds → aware UTC datetime; 0, missing or garbage → None (0 means "never").
_timestamp = timestamp_parse


@dataclass(frozen=True)
class SentMessage:
    """Meta accepted a send (Meta: messages reference): queued, not delivered. `wa_id` may
    differ from `input` (Meta normalises the number); store it. `wa_id` is None for BSUID
    recipients."""

    wamid: str
    wa_id: str | None
    input: str | None
    message_status: str | None
    raw: Mapping[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> SentMessage:
        messages = data.get("messages") or [{}]
        contacts = data.get("contacts") or [{}]
        message, contact = messages[0], contacts[0]
        return cls(
            wamid=str(message.get("id") or ""),
            wa_id=contact.get("wa_id"),
            input=contact.get("input"),
            message_status=message.get("message_status"),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class MediaInfo:
    """A media lookup (Meta: media). `url` lives about 5 minutes and needs the bearer token;
    `file_size` is 0 when Meta did not say."""

    id: str
    url: str
    mime_type: str
    sha256: str
    file_size: int
    raw: Mapping[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> MediaInfo:
        return cls(
            id=str(data.get("id") or ""),
            url=str(data.get("url") or ""),
            mime_type=str(data.get("mime_type") or ""),
            sha256=str(data.get("sha256") or ""),
            file_size=parse_int(data.get("file_size")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class UploadedMedia:
    """An uploaded file's media id; usable in sends for 30 days (Meta: media)."""

    id: str


@dataclass(frozen=True)
class ExchangedToken:
    """A long-lived token from `fb_exchange_token` (Meta: access tokens). `expires_in` is seconds,
    None when Meta did not say (system-user tokens may never expire)."""

    access_token: str = field(repr=False)
    token_type: str | None
    expires_in: int | None
    raw: Mapping[str, Any] = _raw_field()

    def expires_at(self, now: datetime | None = None) -> datetime | None:
        """Aware UTC expiry, counted from `now` (default: the current time)."""
        if self.expires_in is None:
            return None
        return (now or datetime.now(tz=UTC)) + timedelta(seconds=self.expires_in)

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> ExchangedToken:
        expires_in = data.get("expires_in")
        safe_raw = {k: v for k, v in data.items() if k != "access_token"}
        return cls(
            access_token=str(data.get("access_token") or ""),
            token_type=data.get("token_type"),
            expires_in=parse_int(expires_in) if expires_in is not None else None,
            raw=_raw(safe_raw),
        )


@dataclass(frozen=True)
class TokenInfo:
    """`debug_token` data (Meta: access tokens). `expires_at` is None for tokens that never
    expire."""

    is_valid: bool
    expires_at: datetime | None
    scopes: tuple[str, ...]
    app_id: str | None
    type: str | None
    application: str | None = None
    user_id: str | None = None
    data_access_expires_at: datetime | None = None
    granular_scopes: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = _raw_field()

    def target_ids(self, scope: str) -> tuple[str, ...]:
        """Ids (WABAs) a granular scope is limited to, e.g. `whatsapp_business_management`."""
        for entry in self.granular_scopes:
            if entry.get("scope") == scope:
                return tuple(str(i) for i in entry.get("target_ids") or ())
        return ()

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> TokenInfo:
        data = body.get("data") or {}
        app_id = data.get("app_id")
        user_id = data.get("user_id")
        return cls(
            is_valid=bool(data.get("is_valid")),
            expires_at=_timestamp(data.get("expires_at")),
            scopes=tuple(str(s) for s in data.get("scopes") or ()),
            app_id=str(app_id) if app_id is not None else None,
            type=data.get("type"),
            application=data.get("application"),
            user_id=str(user_id) if user_id is not None else None,
            data_access_expires_at=_timestamp(data.get("data_access_expires_at")),
            granular_scopes=tuple(
                MappingProxyType(dict(g))
                for g in data.get("granular_scopes") or ()
                if isinstance(g, Mapping)
            ),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class Template:
    """A message template (Meta: message templates reference). `status` is kept as Meta's
    string: new values appear (store unknown ones)."""

    id: str
    name: str
    language: str
    status: str
    category: str | None
    components: tuple[Mapping[str, Any], ...] = ()
    parameter_format: str | None = None
    raw: Mapping[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Template:
        return cls(
            id=str(data.get("id") or ""),
            name=str(data.get("name") or ""),
            language=str(data.get("language") or ""),
            status=str(data.get("status") or ""),
            category=data.get("category"),
            components=tuple(
                MappingProxyType(dict(c))
                for c in data.get("components") or ()
                if isinstance(c, Mapping)
            ),
            parameter_format=data.get("parameter_format"),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class TemplatePage:
    """One page of `list_templates`; `after` is the cursor of the next page, None on the last."""

    templates: tuple[Template, ...]
    after: str | None


@dataclass(frozen=True)
class PhoneNumberHealth:
    """A business number's state from `GET /{phone-number-id}?fields=...` (Meta: phone numbers;
    https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/).
    Values are Meta's strings (`status` CONNECTED, FLAGGED, RESTRICTED, PENDING, ...; new ones
    appear), "" when absent."""

    id: str
    display_phone_number: str = ""
    verified_name: str = ""
    status: str = ""
    name_status: str = ""
    quality_rating: str = ""
    messaging_limit: str = ""
    throughput_level: str = ""
    platform_type: str = ""
    code_verification_status: str = ""
    raw: Mapping[str, Any] = _raw_field()

    FIELDS = (
        "display_phone_number,verified_name,status,name_status,quality_rating,"
        "whatsapp_business_manager_messaging_limit,throughput,platform_type,"
        "code_verification_status,account_mode"
    )

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> PhoneNumberHealth:
        throughput = data.get("throughput")
        limit = data.get("whatsapp_business_manager_messaging_limit")
        if isinstance(limit, Mapping):  # tolerate an object form
            limit = limit.get("current_limit") or limit.get("max_daily_conversations")

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        return cls(
            id=text(data.get("id")),
            display_phone_number=text(data.get("display_phone_number")),
            verified_name=text(data.get("verified_name")),
            status=text(data.get("status")),
            name_status=text(data.get("name_status")),
            quality_rating=text(data.get("quality_rating")),
            messaging_limit=text(limit or data.get("messaging_limit_tier")),
            throughput_level=text(
                throughput.get("level") if isinstance(throughput, Mapping) else ""
            ),
            platform_type=text(data.get("platform_type")),
            code_verification_status=text(data.get("code_verification_status")),
            raw=_raw(data),
        )
