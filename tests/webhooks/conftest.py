"""The gateway tests use the inbound tests' fixtures: signed posting and connected numbers."""

from tests.inbound.conftest import numbers, webhook

__all__ = ["numbers", "webhook"]
