"""CLI: `python -m whatsapp.sandbox serve` runs the sandbox; the other subcommands drive a
running one through the control API (`--url`, default http://127.0.0.1:$SANDBOX_PORT).

  serve [--host 127.0.0.1] [--port 8090] [--webhook-url URL] [--app-id ID] [--app-secret S]
        [--mps 80] [--no-window] [--no-auto-status] [--phone-number ID:WABA[:DISPLAY]] [--verbose]
  send --phone-number-id 123 --from +15551234567 (--text hi | --type image [--caption c])
  status WAMID read
  fault add timeout --count 3 [--seconds 5] [--path-regex R] [--code N] ...
  fault list | fault clear
  requests [--path-contains messages]
  expire-token TOKEN
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any

from whatsapp.sandbox.client import SandboxClient, SandboxClientError
from whatsapp.sandbox.config import SandboxConfig
from whatsapp.sandbox.faults import KINDS
from whatsapp.sandbox.payloads import INBOUND_TYPES
from whatsapp.sandbox.server import SandboxServer


def _port() -> int:
    return int(os.environ.get("SANDBOX_PORT", "8090"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m whatsapp.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sandbox until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=_port())
    serve.add_argument("--webhook-url", default=os.environ.get("SANDBOX_WEBHOOK_URL"))
    serve.add_argument("--app-id", default=os.environ.get("WHATSAPP_APP_ID", SandboxConfig.app_id))
    serve.add_argument(
        "--app-secret", default=os.environ.get("WHATSAPP_APP_SECRET", SandboxConfig.app_secret)
    )
    serve.add_argument("--mps", type=int, default=80, help="messages per second per number")
    serve.add_argument("--no-window", action="store_true", help="do not enforce the 24 h window")
    serve.add_argument("--no-auto-status", action="store_true")
    serve.add_argument(
        "--phone-number",
        action="append",
        default=[],
        metavar="ID:WABA[:DISPLAY]",
        help="pre-register a phone number id with its WABA id and display number",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")

    for name in ("send", "status", "fault", "requests", "expire-token", "deliveries"):
        command = sub.add_parser(name)
        command.add_argument("--url", default=f"http://127.0.0.1:{_port()}")
        if name == "send":
            command.add_argument("--phone-number-id", required=True)
            command.add_argument("--from", dest="from_number")
            command.add_argument("--user-id", help="BSUID (username-only customers omit --from)")
            command.add_argument("--username")
            command.add_argument("--name", default="Sandbox Customer", help="profile name")
            command.add_argument("--type", default="text", choices=INBOUND_TYPES)
            command.add_argument("--text")
            command.add_argument("--caption")
            command.add_argument("--fields", help="JSON object for the message type's fields")
        elif name == "status":
            command.add_argument("wamid")
            command.add_argument(
                "status", choices=("sent", "delivered", "read", "failed", "played")
            )
        elif name == "fault":
            command.add_argument("action", choices=("add", "list", "clear"))
            command.add_argument("kind", nargs="?", choices=KINDS)
            for option in ("--count", "--status", "--code", "--subcode", "--ms"):
                command.add_argument(option, type=int)
            command.add_argument("--probability", type=float)
            command.add_argument("--seconds", type=float)
            command.add_argument("--path-regex")
            command.add_argument("--phone-number-id")
            command.add_argument("--method")
            command.add_argument("--mode", choices=("known", "all"))
        elif name == "requests":
            command.add_argument("--path-contains")
        elif name == "expire-token":
            command.add_argument("token")
    return parser


def serve(args: argparse.Namespace) -> int:
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        app_id=args.app_id,
        app_secret=args.app_secret,
        messages_per_second=args.mps,
        enforce_customer_window=not args.no_window,
        auto_status=not args.no_auto_status,
        quiet=not args.verbose and os.environ.get("SANDBOX_QUIET", "1") != "0",
    )
    server = SandboxServer(config)
    for spec in args.phone_number:
        pnid, _, rest = spec.partition(":")
        waba_id, _, display = rest.partition(":")
        server.state.register_phone_number(
            pnid, display_phone_number=display or None, waba_id=waba_id or None
        )
    print(
        f"WhatsApp sandbox on http://{args.host}:{args.port} "
        f"(webhooks -> {args.webhook_url or 'nowhere'})",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def run_client(args: argparse.Namespace) -> Any:
    client = SandboxClient(args.url)
    if args.command == "send":
        fields = json.loads(args.fields) if args.fields else {}
        if args.type == "text":
            fields.setdefault("body", args.text or "hi")
        if args.caption:
            fields["caption"] = args.caption
        return client.customer_sends(
            args.phone_number_id,
            args.from_number,
            args.type,
            profile_name=args.name,
            user_id=args.user_id,
            username=args.username,
            **fields,
        )
    if args.command == "status":
        return client.send_status(args.wamid, args.status)
    if args.command == "fault":
        if args.action == "list":
            return client.faults()
        if args.action == "clear":
            client.clear_faults()
            return {"success": True}
        if not args.kind:
            raise SystemExit("fault add needs a kind: " + ", ".join(KINDS))
        names = (
            "count",
            "status",
            "code",
            "subcode",
            "ms",
            "probability",
            "seconds",
            "path_regex",
            "phone_number_id",
            "method",
            "mode",
        )
        options = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
        return client.add_fault(args.kind, **options)
    if args.command == "requests":
        return client.requests(path_contains=args.path_contains)
    if args.command == "deliveries":
        return client.deliveries()
    client.expire_token(args.token)
    return {"success": True}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    try:
        result = run_client(args)
    except SandboxClientError as error:
        print(json.dumps(error.body, indent=2), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
