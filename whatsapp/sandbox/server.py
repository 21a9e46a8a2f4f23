"""`SandboxServer`: the sandbox as a real HTTP server on loopback, in a background thread.

Built on `http.server.ThreadingHTTPServer` with HTTP/1.1 keep-alive (every answer carries a
Content-Length), daemon threads, a large listen backlog, TCP_NODELAY and no per-request logging
by default, which is enough for ~1000 req/s on loopback. `/_sandbox/...` goes to the control
API, `/{version}/...` to the Graph API.

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from whatsapp.sandbox.config import SandboxConfig
from whatsapp.sandbox.control import PREFIX, ControlApi
from whatsapp.sandbox.errors import MetaError
from whatsapp.sandbox.graph_api import GraphApi
from whatsapp.sandbox.protocol import Request, Response, error_response
from whatsapp.sandbox.state import SandboxState
from whatsapp.sandbox.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from whatsapp.sandbox.client import SandboxClient

logger = logging.getLogger("whatsapp.sandbox")
MAX_BODY = 101 * 1024 * 1024  # Meta's hard media ceiling is 100 MB (Meta: media)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    sandbox: SandboxServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can hang.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "WhatsAppSandbox/1.0"
    sys_version = ""
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.sandbox.config.quiet:
            sys.stderr.write(f"sandbox {self.address_string()} {format % args}\n")

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._write(Response(status=413, body={"error": {"message": "body too large"}}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        sandbox = self.server.sandbox
        request = Request(
            method=self.command,
            path=unquote(url.path),
            query=query,
            headers=headers,
            body=body,
            host=headers.get("host") or sandbox.url.removeprefix("http://"),
        )
        try:
            if request.path.startswith(PREFIX):
                response = sandbox.control.handle(request)
            elif GraphApi.matches(request.path):
                response = sandbox.graph.handle(request)
            else:
                response = error_response(
                    MetaError(2500, "Unknown path components", with_error_data=False)
                )
        except Exception:
            logger.exception("sandbox handler failed for %s %s", request.method, request.path)
            response = error_response(MetaError(1, http_status=500))
        self._write(response)

    def _write(self, response: Response) -> None:
        if response.action == "drop":
            self.close_connection = True
            return
        if response.action == "hold":
            self.server.sandbox.state.stopping.wait(response.hold_seconds)
            self.close_connection = True
            return
        data = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class SandboxServer:
    """The sandbox: `SandboxServer(config).start()`, `.url`, `.stop()`, or `with` it."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.state = SandboxState(self.config)
        self.dispatcher = WebhookDispatcher(self.state)
        self.graph = GraphApi(self.state, self.dispatcher)
        self.control = ControlApi(self.state, self.dispatcher)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://<host>:<port>` of the running server."""
        return f"http://{self.config.host}:{self.port}"

    def _bind(self) -> _HTTPServer:
        httpd = _HTTPServer((self.config.host, self.config.port), _Handler, False)
        httpd.request_queue_size = self.config.request_queue_size
        httpd.sandbox = self
        try:
            httpd.server_bind()
            httpd.server_activate()
        except OSError:
            httpd.server_close()
            raise
        return httpd

    def start(self) -> SandboxServer:
        """Bind (port 0 = a free port) and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._httpd = self._bind()
        self.state.stopping.clear()
        self.dispatcher.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        self._httpd = self._bind()
        self.dispatcher.start()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, release held (timeout) requests and the webhook workers."""
        httpd, self._httpd = self._httpd, None
        self.state.stopping.set()
        if httpd is not None:
            if self._thread is not None:
                httpd.shutdown()
                self._thread.join(timeout=5)
                self._thread = None
            httpd.server_close()
        self.dispatcher.stop()

    def client(self, **kwargs: object) -> SandboxClient:
        """A `SandboxClient` for this server."""
        from whatsapp.sandbox.client import SandboxClient

        return SandboxClient(self.url, **kwargs)  # type: ignore[arg-type]

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
