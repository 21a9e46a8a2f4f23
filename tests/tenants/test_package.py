"""Unit test of the tenants app boundary: `tenants` is the shared tenant registry and imports
nothing from `whatsapp` (the token lifecycle lives in whatsapp.services.meta_access). Reads the
source with `ast`; imports nothing."""

from __future__ import annotations

import ast
from pathlib import Path

TENANTS = Path(__file__).resolve().parents[2] / "tenants"
# The webhook gateway still lives under tenants/ and moves to whatsapp/webhooks in its own
# change; nothing else may be added here.
NOT_YET_MOVED = {"services/webhooks/route.py", "tasks/webhooks.py"}


def _imports_whatsapp(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "whatsapp":
            return True
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "whatsapp" for alias in node.names
        ):
            return True
    return False


def test_tenants_imports_nothing_from_whatsapp():
    offenders = {
        str(path.relative_to(TENANTS)) for path in TENANTS.rglob("*.py") if _imports_whatsapp(path)
    }
    assert offenders <= NOT_YET_MOVED, offenders - NOT_YET_MOVED


def test_the_token_lifecycle_is_not_in_tenants():
    assert not (TENANTS / "services" / "tokens.py").exists()
    assert not (TENANTS / "tasks" / "tokens.py").exists()
    assert not (TENANTS / "token_views.py").exists()
