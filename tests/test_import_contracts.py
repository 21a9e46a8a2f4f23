"""The layering contracts in pyproject.toml ([tool.importlinter]) hold: graph and sandbox run
without Django, tenants imports neither whatsapp nor billing, billing does not import
whatsapp, nothing of the product imports the superadmin console, services do not import
tasks. Runs the same `lint-imports` that `make lint` runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 kept, 0 broken" in done.stdout
