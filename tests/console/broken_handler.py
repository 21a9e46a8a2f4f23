"""A `messages` handler that always raises: the browser test's stand-in for a bug that makes
webhook changes fail until it is fixed (settings WHATSAPP_WEBHOOK_HANDLERS points here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from whatsapp.webhooks.handlers import ChangeInput


def broken_messages_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    raise RuntimeError("inbox index unavailable (simulated bug)")
