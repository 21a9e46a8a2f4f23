#!/usr/bin/env python3
"""Latency of the REST API's list endpoints on a tenant with a million messages.

    .venv/bin/python benchmarks/api_lists.py [--messages 1000000] [--contacts 3000]
                                             [--requests 100] [--deep-pages 200] [--reload]

Runs against the database of DATABASE_URL (the dev stack by default; `make services` starts it,
`manage.py migrate_platform` must have run). It creates the organization `bench-api` if absent
and fills its schema with INSERT ... SELECT generate_series (contacts, messages, media for image
messages) unless it already holds `--messages` messages (`--reload` empties and refills it).
Then it starts `manage.py runserver --noreload` on a free loopback port, authenticates with an
API key of the org, and times each scenario over HTTP (Host: bench-api.<BASE_DOMAIN>),
printing p50/p95 per scenario. For contrast it also times, in SQL, what an OFFSET page at the
same depth as the "old position" cursor would cost.
"""

# SQL here is built from the benchmark org's own schema name and integer arguments only.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
# The free trial's API requests per minute would throttle the measurement (README, "Plans").
os.environ.setdefault("BILLING_ENFORCEMENT", "false")

import django

django.setup()

import httpx
from django.conf import settings
from django.db import connection

from tenants.api_keys import api_key_create
from tenants.models import Organization
from tenants.services.onboarding import (
    organization_create,
    public_tenant_ensure,
    tenant_host,
)
from whatsapp.api.pagination import Cursor, KeysetPagination

SLUG = "bench-api"
ADMIN = "admin@bench-api.test"
PAGE = 50


# --- data -----------------------------------------------------------------------------------
def ensure_org() -> Organization:
    public_tenant_ensure()
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None:
        organization = organization_create(
            slug=SLUG, name="Bench API", admin_email=ADMIN, admin_password="bench-api-pass-123"
        )
    return organization


def _fill_defaults(schema: str, table: str, given: dict[str, str]) -> dict[str, str]:
    """Every NOT NULL column without a default gets a neutral value, so columns added by later
    migrations do not break the loader."""
    neutral = {
        "character varying": "''",
        "text": "''",
        "jsonb": "'{}'::jsonb",
        "smallint": "0",
        "integer": "0",
        "bigint": "0",
        "boolean": "false",
        "timestamp with time zone": "now()",
        "uuid": "gen_random_uuid()",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND is_nullable = 'NO' "
            "AND column_default IS NULL",
            [schema, table],
        )
        for column, data_type in cursor.fetchall():
            if column not in given and column != "id":
                given[column] = neutral[data_type]
    return given


def _insert(schema: str, table: str, columns: dict[str, str], source: str) -> None:
    columns = _fill_defaults(schema, table, columns)
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(columns.values())
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{schema}"."{table}" ({names}) SELECT {values} {source}')


def load(organization: Organization, *, messages: int, contacts: int, reload: bool) -> None:
    schema = organization.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".whatsapp_whatsappmessage')
        existing = cursor.fetchone()[0]
    if existing >= messages and not reload:
        print(f"{SLUG}: {existing:,} messages already loaded")
        with connection.cursor() as cursor:  # fresh statistics, e.g. after a new index
            cursor.execute(f'ANALYZE "{schema}".whatsapp_whatsappmessage')
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f'TRUNCATE "{schema}".whatsapp_whatsappmedia, "{schema}".whatsapp_whatsappmessage, '
            f'"{schema}".whatsapp_contact RESTART IDENTITY CASCADE'
        )
    # Contacts: a few thousand, every tenth one username-only (BSUID, no phone number).
    _insert(
        schema,
        "whatsapp_contact",
        {
            "wa_id": "CASE WHEN g % 10 = 0 THEN NULL ELSE '1555' || lpad(g::text, 7, '0') END",
            "user_id": "CASE WHEN g % 10 = 0 THEN 'US.bench.' || g ELSE NULL END",
            "name": "'Contact ' || g",
            "first_seen": "now() - interval '400 days'",
            "last_seen": "now() - g * interval '1 minute'",
            "created_at": "now()",
            "updated_at": "now()",
        },
        f"FROM generate_series(1, {contacts}) AS g",
    )
    # Messages: one every ~30 s over the last year, newest = highest g; a third outgoing.
    words = "ARRAY['order', 'invoice', 'delivery', 'refund', 'hello', 'thanks', 'price']"
    _insert(
        schema,
        "whatsapp_whatsappmessage",
        {
            "wamid": "'wamid.bench.' || g",
            "client_reference": "gen_random_uuid()",
            "direction": "CASE WHEN g % 3 = 0 THEN 'outgoing' ELSE 'incoming' END",
            "phone_number_id": "'100000000000001'",
            "contact_id": f"1 + (g::bigint * 7919) % {contacts}",
            "type": "CASE g % 10 WHEN 0 THEN 'image' WHEN 1 THEN 'document' "
            "WHEN 2 THEN 'template' ELSE 'text' END",
            "status": "CASE WHEN g % 3 <> 0 THEN 'received' ELSE "
            "(ARRAY['sent', 'delivered', 'read', 'failed'])[1 + (g / 3) % 4] END",
            "text": f"'message ' || g || ' about ' || ({words})[1 + g % 7]",
            "raw": "jsonb_build_object('id', 'wamid.bench.' || g, 'type', 'text', "
            "'text', jsonb_build_object('body', 'message ' || g))",
            "timestamp": f"now() - ({messages} - g) * interval '30 seconds'",
            "created_at": "now()",
            "updated_at": "now()",
        },
        f"FROM generate_series(1, {messages}) AS g",
    )
    _insert(
        schema,
        "whatsapp_whatsappmedia",
        {
            "message_id": "m.id",
            "media_id": "'media.' || m.id",
            "mime_type": "'image/jpeg'",
            "size": "12345",
            "sha256": "md5(m.id::text) || md5(m.wamid)",
            "file": "'tenants/bench/media/' || m.id || '.jpg'",
            "state": "'stored'",
            "created_at": "m.timestamp",
        },
        f"FROM \"{schema}\".whatsapp_whatsappmessage m WHERE m.type = 'image'",
    )
    with connection.cursor() as cursor:
        for table in ("whatsapp_contact", "whatsapp_whatsappmessage", "whatsapp_whatsappmedia"):
            cursor.execute(f'ANALYZE "{schema}"."{table}"')
    print(f"{SLUG}: loaded {messages:,} messages in {time.perf_counter() - started:.1f} s")


# --- server and client ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("runserver did not start")


Getter = Callable[[str], tuple[float, dict]]


def http_getter(client: httpx.Client) -> Getter:
    def get(url: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
        return elapsed, response.json()

    return get


def in_process_getter(key: str) -> Getter:
    """The same request through Django's test client: no HTTP, one persistent DB connection.
    Isolates the application and database cost from runserver's per-request overhead."""
    from django.test import Client

    client = Client(HTTP_HOST=tenant_host(SLUG), HTTP_AUTHORIZATION=f"Api-Key {key}")

    def get(url: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.get(url)
        body = response.json()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {body}")
        return elapsed, body

    return get


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- scenarios ------------------------------------------------------------------------------
def scenarios(
    organization: Organization, deep_pages: int
) -> list[tuple[str, Callable, int | None]]:
    schema = organization.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT contact_id, count(*) FROM "{schema}".whatsapp_whatsappmessage '
            "GROUP BY contact_id ORDER BY count(*) DESC LIMIT 1"
        )
        busy_contact, _ = cursor.fetchone()
        cursor.execute(
            f'SELECT wa_id FROM "{schema}".whatsapp_contact WHERE wa_id IS NOT NULL LIMIT 1'
        )
        (wa_id,) = cursor.fetchone()
        # A position ~100 rows from the oldest message: the cursor of a page a million deep.
        cursor.execute(
            f'SELECT timestamp, id FROM "{schema}".whatsapp_whatsappmessage '
            "ORDER BY timestamp, id OFFSET 100 LIMIT 1"
        )
        old_position = cursor.fetchone()
        cursor.execute(
            f'SELECT min(timestamp), max(timestamp) FROM "{schema}".whatsapp_whatsappmessage'
        )
        oldest, newest = cursor.fetchone()
    middle = oldest + (newest - oldest) / 2
    day = f"since={middle.isoformat()}&until={(middle + (newest - oldest) / 365).isoformat()}"
    day = day.replace("+", "%2B")
    old_cursor = KeysetPagination._encode(Cursor("-timestamp", tuple(old_position), False))
    base = f"/api/v1/messages/?page_size={PAGE}"

    def fixed(url: str) -> Callable:
        return lambda get, _i: get(url)[0]

    state: dict[str, str] = {}

    def follow(get: Getter, i: int) -> float:
        # Page i of a walk through `next` links: depth grows with i (i * PAGE rows deep).
        url = state.get("next") if i % deep_pages else None
        elapsed, body = get(url or base)
        state["next"] = body["next"] and path_of(body["next"])
        return elapsed

    named = [
        ("messages: first page", fixed(base)),
        ("messages/incoming: first page", fixed(f"/api/v1/messages/incoming/?page_size={PAGE}")),
        ("messages/outgoing: first page", fixed(f"/api/v1/messages/outgoing/?page_size={PAGE}")),
        (f"messages: follow next, pages 1-{deep_pages}", follow),
        ("messages: cursor ~1M rows deep", fixed(f"{base}&cursor={old_cursor}")),
        ("messages: oldest first (ordering)", fixed(f"{base}&ordering=timestamp")),
        ("filter contact=<busiest>", fixed(f"{base}&contact={busy_contact}")),
        ("filter wa_id=<contact>", fixed(f"{base}&wa_id={wa_id}")),
        ("filter type=image&status=received", fixed(f"{base}&type=image&status=received")),
        ("filter status=failed (outgoing)", fixed(f"{base}&status=failed")),
        ("filter since/until (one day)", fixed(f"{base}&{day}")),
        ("search q=refund (common)", fixed(f"{base}&q=refund")),
        ("search q=message 4242 (rare)", fixed(f"{base}&q=message%204242%20")),
        ("contacts: first page", fixed(f"/api/v1/contacts/?page_size={PAGE}")),
        ("media: first page", fixed(f"/api/v1/media/?page_size={PAGE}")),
    ]
    # The walk takes one sample per page, as deep as asked; the others take --requests.
    return [(name, run, deep_pages if run is follow else None) for name, run in named]


def offset_contrast(organization: Organization) -> float:
    """What `OFFSET <a million> LIMIT 50` costs in SQL alone: the alternative keyset avoids."""
    schema = organization.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".whatsapp_whatsappmessage')
        total = cursor.fetchone()[0]
        started = time.perf_counter()
        cursor.execute(
            f'SELECT id FROM "{schema}".whatsapp_whatsappmessage '
            f"ORDER BY timestamp DESC, id DESC OFFSET {max(total - 150, 0)} LIMIT {PAGE}"
        )
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=3_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per scenario")
    parser.add_argument("--deep-pages", type=int, default=200)
    parser.add_argument("--reload", action="store_true", help="empty and refill the org")
    args = parser.parse_args()

    organization = ensure_org()
    load(organization, messages=args.messages, contacts=args.contacts, reload=args.reload)
    api_key, key = api_key_create(organization=organization, name="benchmark", created_by=None)

    port = free_port()
    server = start_server(port)
    try:
        # A new connection per request: runserver (wsgiref) writes headers and body separately,
        # and on a kept-alive connection Nagle + delayed ACK add ~40 ms to every response.
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Host": tenant_host(SLUG), "Authorization": f"Api-Key {key}"},
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=60,
        )
        over_http, in_process = http_getter(client), in_process_getter(key)
        print(
            f"\n{args.requests} requests per scenario (after 5 warm-up), page_size={PAGE}, "
            f"DEBUG={settings.DEBUG}. HTTP: runserver on loopback (a thread and a new database "
            "connection per request). In-process: Django test client, same code, no HTTP.\n"
        )
        header = f"{'scenario':<38} {'HTTP p50':>9} {'HTTP p95':>9} {'inproc p50':>10} {'p95':>7}"
        print(header)
        print("-" * len(header))
        for name, run, count in scenarios(organization, args.deep_pages):
            figures = []
            for get in (over_http, in_process):
                for i in range(5):
                    run(get, i + 1)
                samples = [run(get, i) for i in range(count or args.requests)]
                figures += [statistics.median(samples), percentile(samples, 0.95)]
            print(
                f"{name:<38} {figures[0]:>9.1f} {figures[1]:>9.1f} {figures[2]:>10.1f} "
                f"{figures[3]:>7.1f}"
            )
        print("-" * len(header))
        contrast = offset_contrast(organization)
        print(f"{'(SQL only) OFFSET ~1M LIMIT 50':<38} {contrast:>9.1f}   (what keyset avoids)")
    finally:
        server.terminate()
        server.wait(timeout=10)
        api_key.delete()


if __name__ == "__main__":
    main()
