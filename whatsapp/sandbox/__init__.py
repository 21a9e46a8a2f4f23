"""The WhatsApp sandbox: a Meta Graph API simulator on loopback ("sandbox mode").

Plain Python (standard library + httpx), no Django. Start it in-process with
`SandboxServer(SandboxConfig()).start()`, or as a process with `python -m whatsapp.sandbox serve`,
and drive the customer side with `SandboxClient`. See README.md in this package.
"""

from __future__ import annotations

from whatsapp.sandbox.client import SandboxClient, SandboxClientError
from whatsapp.sandbox.config import SandboxConfig
from whatsapp.sandbox.server import SandboxServer

__all__ = ["SandboxClient", "SandboxClientError", "SandboxConfig", "SandboxServer"]
