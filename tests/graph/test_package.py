"""Unit test of the whatsapp.graph package boundary: it imports without Django or the ORM (the
Django layer passes settings in). Runs the import in a fresh interpreter; no HTTP at all."""

from __future__ import annotations

import subprocess
import sys

CHECK = (
    "import sys, whatsapp.graph, whatsapp.graph.client, whatsapp.graph.payloads;"
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', "
    "'django_tenants', 'tenants'});"
    "print(','.join(bad))"
)


def test_graph_package_imports_no_django():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
