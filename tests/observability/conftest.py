"""Observability tests use the outbound tests' connected sender and sandbox fixtures, and
capture the platform's log output exactly as the production handler renders it (JSON)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from saas_platform.logs import formatter
from tests.outbound.conftest import graph_url, sender_a, sender_b

__all__ = ["LogCapture", "graph_url", "log_capture", "sender_a", "sender_b"]


@dataclass
class LogCapture:
    """Everything logged while the fixture is active, rendered by the JSON formatter."""

    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def log_capture() -> Iterator[LogCapture]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt="json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield LogCapture(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
