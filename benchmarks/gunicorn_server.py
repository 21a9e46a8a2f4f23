"""Starting a WSGI app under gunicorn with the product's production config, for benchmarks.

Imported by benchmarks/webhook_ack.py and benchmarks/webhook_ingest.py (run as scripts, so this
folder is on sys.path).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(
    app: str, *, env: dict[str, str], port: int, name: str, log: Path | None = None
) -> subprocess.Popen:
    """Run `app` ("module:callable") under `platform/gunicorn_conf.py` with `env` (which sets
    PORT); returns once it accepts connections on `port`. Raises SystemExit (with the server's
    last stderr) if it exits or does not listen within 60 s. A long run passes `log` (a file
    for stderr): nobody reads the pipe once started, and a full pipe blocks the server."""
    process = subprocess.Popen(
        [GUNICORN, app, "-c", "python:saas_platform.gunicorn_conf"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log else subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_bytes() if log else process.stderr.read()
            raise SystemExit(f"{name} server exited: {output.decode()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{name} server did not listen on {port}")


def processes_stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every process still running, wait up to 20 s each, then SIGKILL."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
