"""`SandboxClient`: a typed Python API over the `/_sandbox/` control API (tests, scripts, CLI).

Every method is one HTTP call and returns the decoded JSON; a non-2xx answer raises
`SandboxClientError` carrying the status and body.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx


class SandboxClientError(Exception):
    """The control API refused a call."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"sandbox control API answered {status}: {body}")
        self.status = status
        self.body = body


class SandboxClient:
    """Control a running sandbox at `base_url` (e.g. `SandboxServer.url`)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/_sandbox", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        data = response.json() if response.content else None
        if response.status_code >= 400:
            raise SandboxClientError(response.status_code, data)
        return data

    # --- basics ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self) -> None:
        """Forget all state (tokens, media, templates, faults, recordings, deliveries)."""
        self._call("POST", "/reset")

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def update_config(self, **changes: Any) -> dict[str, Any]:
        """Patch runtime settings, e.g. `update_config(webhook_url=..., auto_status=False)`."""
        return self._call("PATCH", "/config", changes)["config"]

    # --- faults and tokens -----------------------------------------------------------------
    def add_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """Add a fault: kind in http_5xx, timeout, timeout_after_accept,
        slow_after_accept, quality_hold, delay, drop,
        error_code, expire_tokens; options count, probability, path_regex, phone_number_id,
        method, status, code, subcode, seconds, ms, mode (expire_tokens: known | all)."""
        return self._call("POST", "/faults", {"kind": kind, **options})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def expire_token(self, token: str) -> None:
        self._call("POST", "/tokens/expire", {"token": token})

    def revoke_token(self, token: str) -> None:
        self._call("POST", "/tokens/revoke", {"token": token})

    def expire_all_tokens(self, mode: str = "known") -> int:
        """`known`: every token seen so far; `all`: every token not issued after now."""
        return self._call("POST", "/tokens/expire-all", {"mode": mode})["expired_known_tokens"]

    def issue_token(self, *, expires_in: float = 0, kind: str = "SYSTEM_USER") -> str:
        """A sandbox-issued token (expires_in 0 = never)."""
        body = {"expires_in": expires_in, "type": kind}
        return self._call("POST", "/tokens/issue", body)["access_token"]

    # --- templates, numbers, limits, windows -----------------------------------------------
    def create_template(
        self,
        name: str,
        *,
        waba_id: str | None = None,
        language: str = "en_US",
        category: str = "UTILITY",
        status: str = "APPROVED",
        components: list[dict[str, Any]] | None = None,
        parameter_format: str = "POSITIONAL",
    ) -> dict[str, Any]:
        body = {"name": name, "waba_id": waba_id, "language": language, "category": category}
        body |= {"parameter_format": parameter_format}
        return self._call("POST", "/templates", body | {"status": status, "components": components})

    def templates(self, waba_id: str | None = None) -> list[dict[str, Any]]:
        params = {"waba_id": waba_id} if waba_id else None
        return self._call("GET", "/templates", params=params)["templates"]

    def set_template_status(
        self,
        name: str,
        status: str,
        *,
        waba_id: str | None = None,
        language: str | None = None,
        reason: str = "NONE",
        **extra: Any,
    ) -> list[dict[str, Any]]:
        """Set status (APPROVED, REJECTED, PAUSED, DISABLED...) and send the status webhook;
        `extra`: `other_info={"title": "FIRST_PAUSE", ...}`, `rejection_info`, `disable_info`."""
        body = {"name": name, "status": status, "waba_id": waba_id, "language": language}
        body |= {"reason": reason, **extra}
        return self._call("POST", "/templates/status", body)["templates"]

    def set_template_quality(
        self, name: str, score: str, *, waba_id: str | None = None, language: str | None = None
    ) -> list[dict[str, Any]]:
        """Set the quality score and send `message_template_quality_update`."""
        body = {"name": name, "score": score, "waba_id": waba_id, "language": language}
        return self._call("POST", "/templates/quality", body)["templates"]

    def set_template_category(
        self,
        name: str,
        category: str,
        *,
        announce_at: int | None = None,
        waba_id: str | None = None,
        language: str | None = None,
    ) -> list[dict[str, Any]]:
        """Announce (`announce_at`, Unix time) or apply a category change, with Meta's
        `template_category_update` webhook."""
        body = {"name": name, "category": category, "waba_id": waba_id, "language": language}
        return self._call("POST", "/templates/category", body | {"announce_at": announce_at})[
            "templates"
        ]

    def approve_template(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.set_template_status(name, "APPROVED", **kwargs)

    def reject_template(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.set_template_status(name, "REJECTED", **kwargs)

    def pause_template(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.set_template_status(name, "PAUSED", **kwargs)

    def register_phone_number(
        self,
        phone_number_id: str,
        *,
        display_phone_number: str | None = None,
        waba_id: str | None = None,
        messages_per_second: int | None = None,
    ) -> dict[str, Any]:
        body = {
            "phone_number_id": phone_number_id,
            "display_phone_number": display_phone_number,
            "waba_id": waba_id,
            "messages_per_second": messages_per_second,
        }
        return self._call("POST", "/phone-numbers", body)

    def signup_code(self, **spec: Any) -> dict[str, Any]:
        """An Embedded Signup login code, as the popup's Finish issues it: `{"code", "waba_id",
        "phone_number_id", "business_id", "display_phone_number"}` (ids new unless given)."""
        return self._call("POST", "/signup/codes", spec)

    def set_number_health(self, phone_number_id: str, **fields: str) -> dict[str, Any]:
        """Set `status`, `name_status`, `quality_rating`, `messaging_limit` or
        `throughput_level` of a number (e.g. `name_status="PENDING_REVIEW"`)."""
        return self._call(
            "POST", "/phone-numbers/health", {"phone_number_id": phone_number_id} | fields
        )

    def phone_numbers(self) -> dict[str, dict[str, Any]]:
        """Every number the sandbox knows, by phone_number_id (with `registered`, `pin`, health)."""
        numbers = self._call("GET", "/phone-numbers")["phone_numbers"]
        return {n["phone_number_id"]: n for n in numbers}

    def subscriptions(self) -> dict[str, Any]:
        """App subscriptions per WABA: `{waba_id: {"override_callback_uri"}}`."""
        return self._call("GET", "/subscriptions")["subscriptions"]

    def set_rate_limit(self, phone_number_id: str, mps: int | None) -> None:
        """Messages per second for one number (None = back to the config default)."""
        self._call("POST", "/rate-limits", {"phone_number_id": phone_number_id, "mps": mps})

    def set_window(self, phone_number_id: str, customer: str, *, open: bool = True) -> None:
        """Open or close the 24 h window without a webhook."""
        body = {"phone_number_id": phone_number_id, "customer": customer, "open": open}
        self._call("POST", "/windows", body)

    def register_customer(self, wa_id: str) -> str:
        """A WhatsApp user registered as `wa_id`: sends to other forms of it answer this wa_id
        (a customer who writes in is registered by that)."""
        return self._call("POST", "/customers", {"wa_id": wa_id})["wa_id"]

    def customers(self) -> list[str]:
        return self._call("GET", "/customers")["wa_ids"]

    def set_window_enforcement(self, enabled: bool) -> None:
        self.update_config(enforce_customer_window=enabled)

    # --- the customer side -----------------------------------------------------------------
    def customer_sends(
        self,
        phone_number_id: str,
        from_number: str | None,
        message_type: str = "text",
        *,
        profile_name: str | None = "Sandbox Customer",
        user_id: str | None = None,
        username: str | None = None,
        parent_user_id: str | None = None,
        context: dict[str, Any] | None = None,
        referral: dict[str, Any] | None = None,
        data: bytes | None = None,
        mime_type: str | None = None,
        timestamp: float | None = None,
        wait: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A customer message of any inbound type; `fields` form the type's object
        (e.g. `caption=`, `voice=True`, `latitude=`, `contacts=[...]`). `timestamp` (Unix s,
        default now) is when the customer wrote it: Meta keeps retrying an undelivered webhook
        for days, so a message can reach the business long after it was written. Returns the
        delivery result plus `message` (the webhook's message, with its wamid and media id)."""
        spec = self._spec(
            phone_number_id,
            from_number,
            message_type,
            profile_name,
            user_id,
            username,
            parent_user_id,
            context,
            referral,
            data,
            mime_type,
            fields,
        )
        if timestamp is not None:
            spec["timestamp"] = timestamp
        return self._call("POST", "/customer/messages", spec | {"wait": wait})

    @staticmethod
    def _spec(
        phone_number_id: str,
        from_number: str | None,
        message_type: str,
        profile_name: str | None,
        user_id: str | None,
        username: str | None,
        parent_user_id: str | None,
        context: dict[str, Any] | None,
        referral: dict[str, Any] | None,
        data: bytes | None,
        mime_type: str | None,
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "phone_number_id": phone_number_id,
            "from": from_number,
            "type": message_type,
            "profile_name": profile_name,
            "message": fields,
        }
        optional = {
            "user_id": user_id,
            "username": username,
            "parent_user_id": parent_user_id,
            "context": context,
            "referral": referral,
            "mime_type": mime_type,
            "data_base64": base64.b64encode(data).decode() if data is not None else None,
        }
        return spec | {k: v for k, v in optional.items() if v is not None}

    def customer_sends_text(
        self,
        phone_number_id: str,
        from_number: str | None,
        text: str,
        *,
        profile_name: str | None = "Sandbox Customer",
        user_id: str | None = None,
        username: str | None = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Customer `from_number` writes `text` to `phone_number_id` (opens the 24 h window)."""
        return self.customer_sends(
            phone_number_id,
            from_number,
            "text",
            profile_name=profile_name,
            user_id=user_id,
            username=username,
            wait=wait,
            body=text,
            **kwargs,
        )

    def customer_batch(self, items: list[dict[str, Any]], *, wait: bool = True) -> dict[str, Any]:
        """One webhook POST carrying several messages (several numbers/WABAs). Items use the
        control API spec: phone_number_id, from, type, message, profile_name, user_id..."""
        return self._call("POST", "/customer/batch", {"items": items, "wait": wait})

    def send_status(
        self,
        wamid: str,
        status: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        timestamp: int | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """A status webhook (sent, delivered, read, failed, played) for a wamid we accepted."""
        item = {"wamid": wamid, "status": status, "errors": errors, "timestamp": timestamp}
        return self._call("POST", "/statuses", {"items": [item], "wait": wait})["deliveries"][0]

    def send_statuses(
        self,
        items: list[dict[str, Any]],
        *,
        shuffle: bool = False,
        duplicates: int = 1,
        batch: bool = False,
        wait: bool = True,
    ) -> list[dict[str, Any]]:
        """Several statuses: shuffled, each repeated `duplicates` times, one POST if `batch`."""
        body = {"items": items, "shuffle": shuffle, "duplicates": duplicates, "batch": batch}
        return self._call("POST", "/statuses", body | {"wait": wait})["deliveries"]

    def post_raw_webhook(self, payload: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Sign and deliver any payload as-is."""
        return self._call("POST", "/webhooks/raw", {"payload": payload, "wait": wait})

    # --- recordings ------------------------------------------------------------------------
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery with its attempts (status, attempt number, error)."""
        return self._call("GET", "/deliveries")["deliveries"]

    def clear_deliveries(self) -> None:
        self._call("DELETE", "/deliveries")

    def requests(
        self, path_contains: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Recorded Graph requests (tokens only as a sha256 prefix)."""
        params = {k: v for k, v in {"path_contains": path_contains, "since": since}.items() if v}
        return self._call("GET", "/requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def sent_messages(self, phone_number_id: str | None = None) -> list[dict[str, Any]]:
        """Messages the platform sent and the sandbox accepted."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        return self._call("GET", "/messages", params=params)["messages"]

    def media(self) -> list[dict[str, Any]]:
        return self._call("GET", "/media")["media"]
