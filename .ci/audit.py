#!/usr/bin/env python3
"""Dependency audit: every pinned package of requirements/dev.lock against the known
vulnerabilities PyPI publishes (pip-audit, `--vulnerability-service pypi`). `make audit`; CI
runs it before the tests.

Exit status, decided here rather than by pip-audit's (which is 1 both for "vulnerable" and for
"could not ask"):
- 1 when a pinned version has a known vulnerability that .ci/audit-ignore.txt does not list
  (each ignored id with the reason, one per line): CI goes red until the pin is raised.
- 0 when the audit could not run (no network, PyPI unreachable or slow, a service error): the
  audit is about the dependencies, not about this change, so an outage must not block the
  merge of unrelated work; a loud warning says the audit was skipped, and the next run audits
  again. AUDIT_STRICT=1 turns this into a failure (for a release pipeline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "dev.lock"
IGNORE = ROOT / ".ci" / "audit-ignore.txt"
TIMEOUT_SECONDS = 300


def ignored_ids() -> list[str]:
    if not IGNORE.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in IGNORE.read_text().splitlines())
    return [line for line in lines if line]


def main() -> int:
    # PIP_AUDIT: another pip-audit executable (tests/platform/test_audit.py stands one in).
    pip_audit = os.environ.get("PIP_AUDIT") or str(Path(sys.executable).with_name("pip-audit"))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        command = [
            pip_audit,
            "--vulnerability-service",
            "pypi",
            "--requirement",
            str(LOCK),
            # The lock pins every package: audit exactly those, without resolving again.
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ]
        for vuln_id in ignored_ids():
            command += ["--ignore-vuln", vuln_id]
        try:
            result = subprocess.run(  # noqa: S603 (our own argument list)
                command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
            )
            error = result.stderr.strip().splitlines()[-1:] if result.returncode else []
        except subprocess.TimeoutExpired:
            error = [f"no answer within {TIMEOUT_SECONDS} s"]
        if not report.is_file():
            print(
                f"WARNING: dependency audit skipped, the vulnerability service could not be "
                f"asked: {' '.join(error) or 'no report'}",
                flush=True,
            )
            return 1 if os.environ.get("AUDIT_STRICT") == "1" else 0
        data = json.loads(report.read_text())
    vulnerable = [dep for dep in data["dependencies"] if dep.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(
        f"dependency audit: {len(data['dependencies'])} pinned packages, "
        f"{len(vulnerable)} with known vulnerabilities, {len(ignored_ids())} ignored by id",
        flush=True,
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
