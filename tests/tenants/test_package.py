"""Unit test of the tenants app boundary: the token lifecycle lives in
whatsapp.services.meta_access, not in `tenants` (the shared tenant registry). That `tenants`
imports nothing from `whatsapp` is an import-linter contract (pyproject.toml), checked by
tests/test_import_contracts.py and `make lint`."""

from __future__ import annotations

from pathlib import Path

TENANTS = Path(__file__).resolve().parents[2] / "tenants"


def test_the_token_lifecycle_is_not_in_tenants():
    assert not (TENANTS / "services" / "tokens.py").exists()
    assert not (TENANTS / "tasks" / "tokens.py").exists()
    assert not (TENANTS / "token_views.py").exists()
