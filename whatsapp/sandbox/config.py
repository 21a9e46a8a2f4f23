"""`SandboxConfig`: every knob of the sandbox, with defaults that make the demo flow.

The config is a mutable dataclass owned by the running server; the control API patches it
(`PATCH /_sandbox/config`) under the state lock, so changes apply to the next request.

Meta pages:
- webhooks overview: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
- customer service windows: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Meta's real schedule retries failed webhook deliveries with growing delays for up to 7 days
# (Meta: webhooks overview). The defaults below are deliberately short so tests see retries in
# < 1 s.
DEFAULT_WEBHOOK_INITIAL_DELAY = 0.2
DEFAULT_WEBHOOK_BACKOFF_FACTOR = 2.0
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 8


@dataclass
class SandboxConfig:
    """Settings of one sandbox instance. Durations are seconds unless the name says otherwise."""

    host: str = "127.0.0.1"
    port: int = 0
    # The Meta app the platform is registered as (settings WHATSAPP_APP_ID / _SECRET).
    app_id: str = "100000000000001"
    app_secret: str = "sandbox-app-secret"  # noqa: S105 - public development default
    application_name: str = "WhatsApp Sandbox App"
    # Where customer-side webhooks go (the platform's shared Meta webhook); None = nowhere.
    webhook_url: str | None = None
    webhook_timeout: float = 5.0
    webhook_initial_delay: float = DEFAULT_WEBHOOK_INITIAL_DELAY
    webhook_backoff_factor: float = DEFAULT_WEBHOOK_BACKOFF_FACTOR
    webhook_max_attempts: int = DEFAULT_WEBHOOK_MAX_ATTEMPTS
    webhook_workers: int = 4
    # Per phone number throughput (Meta: throughput), sliding 1 s window.
    messages_per_second: int = 80
    # 24 h customer-service window (Meta: customer service windows).
    enforce_customer_window: bool = True
    customer_window_seconds: float = 24 * 3600
    # sent -> delivered -> read status webhooks after an accepted send, delays from the send.
    auto_status: bool = True
    auto_status_delays: list[float] = field(default_factory=lambda: [0.1, 0.25, 0.4])
    auto_approve_templates: bool = True
    # Signed media download URLs live this long (Meta: about 5 minutes, Meta: media).
    media_url_ttl: float = 300.0
    # Long-lived tokens from fb_exchange_token (Meta: ~60 days).
    exchanged_token_expires_in: int = 5183944
    # WABA used in `entry.id` for phone numbers never registered through the control API
    # (matches the demo seed; register numbers to give them their own WABA).
    default_waba_id: str = "200000000000001"
    # Embedded Signup: login codes live this long (Meta: seconds); False issues business tokens
    # whose granular scopes lack the WABA ("No WABA scope"); an `account_update` webhook
    # (PARTNER_ADDED) follows a number's first registration.
    signup_code_ttl: float = 60.0
    signup_grant_waba_scope: bool = True
    signup_account_update: bool = True
    max_recorded_requests: int = 20000
    request_queue_size: int = 1024
    quiet: bool = True

    # Fields the control API may change at runtime.
    PATCHABLE = (
        "webhook_url",
        "webhook_timeout",
        "webhook_initial_delay",
        "webhook_backoff_factor",
        "webhook_max_attempts",
        "app_id",
        "app_secret",
        "messages_per_second",
        "enforce_customer_window",
        "customer_window_seconds",
        "auto_status",
        "auto_status_delays",
        "auto_approve_templates",
        "media_url_ttl",
        "exchanged_token_expires_in",
        "default_waba_id",
        "signup_code_ttl",
        "signup_grant_waba_scope",
        "signup_account_update",
    )

    def to_dict(self, *, include_secret: bool = True) -> dict[str, Any]:
        """The config as JSON-ready data (the app secret masked unless `include_secret`)."""
        data = dataclasses.asdict(self)
        if not include_secret:
            data["app_secret"] = "***"  # noqa: S105 - a mask, not a secret
        return data

    def update(self, patch: dict[str, Any]) -> list[str]:
        """Apply the patchable keys of `patch`; returns the unknown or read-only keys it ignored."""
        rejected = []
        for key, value in patch.items():
            if key not in self.PATCHABLE:
                rejected.append(key)
                continue
            current = getattr(self, key)
            if isinstance(current, bool):
                value = bool(value)
            elif isinstance(current, int) and value is not None:
                value = int(value)
            elif isinstance(current, float) and value is not None:
                value = float(value)
            elif key == "auto_status_delays":
                value = [float(v) for v in value]
            setattr(self, key, value)
        return rejected
