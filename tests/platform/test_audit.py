"""The CI dependency audit (.ci/audit.py) fails on a known vulnerability and only warns when the
vulnerability service cannot be reached. pip-audit itself is replaced by a stand-in script (its
real run needs the network: `make audit`), which answers as pip-audit does: a JSON report and
exit 1 when something is vulnerable, a traceback and no report when PyPI cannot be reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fake_pip_audit(tmp_path: Path, *, report: dict | None, exit_code: int) -> Path:
    script = tmp_path / "pip-audit"
    write = (
        f"out = sys.argv[sys.argv.index('--output') + 1]\n"
        f"open(out, 'w').write({json.dumps(json.dumps(report))})\n"
        if report is not None
        else "print('requests.exceptions.ConnectionError: pypi.org unreachable', file=sys.stderr)\n"
    )
    script.write_text(f"#!{sys.executable}\nimport sys\n{write}sys.exit({exit_code})\n")
    script.chmod(0o755)
    return script


def audit(pip_audit: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "audit.py")],
        env={**os.environ, "PIP_AUDIT": str(pip_audit), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path: Path) -> None:
    report = {
        "dependencies": [
            {
                "name": "django",
                "version": "4.2.0",
                "vulns": [{"id": "PYSEC-1", "fix_versions": ["4.2.1"]}],
            },
            {"name": "httpx", "version": "0.28.1", "vulns": []},
        ]
    }
    result = audit(fake_pip_audit(tmp_path, report=report, exit_code=1))
    assert result.returncode == 1
    assert "VULNERABLE django==4.2.0: PYSEC-1 (fixed in 4.2.1)" in result.stdout


def test_a_clean_audit_passes(tmp_path: Path) -> None:
    report = {"dependencies": [{"name": "httpx", "version": "0.28.1", "vulns": []}]}
    result = audit(fake_pip_audit(tmp_path, report=report, exit_code=0))
    assert result.returncode == 0
    assert "1 pinned packages, 0 with known vulnerabilities" in result.stdout


@pytest.mark.parametrize(("strict", "expected"), [("", 0), ("1", 1)])
def test_an_unreachable_service_warns_unless_strict(tmp_path: Path, strict: str, expected: int):
    result = audit(fake_pip_audit(tmp_path, report=None, exit_code=1), AUDIT_STRICT=strict)
    assert result.returncode == expected
    assert "WARNING: dependency audit skipped" in result.stdout
    assert "pypi.org unreachable" in result.stdout
