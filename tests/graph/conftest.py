"""Fixtures for the Graph client unit tests: a `GraphClient` whose HTTP boundary is faked with
`httpx.MockTransport` (no network, no Django)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fakes import ClientFactory


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    factory = ClientFactory()
    yield factory
    for client in factory.clients:
        client._http.close()
