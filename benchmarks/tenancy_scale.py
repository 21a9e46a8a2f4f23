#!/usr/bin/env python3
"""Tenancy at scale: onboarding 1,000 organizations, then migrating all their schemas.

    .venv/bin/python benchmarks/tenancy_scale.py [--orgs 1000] [--window 100] [--processes 2]
        [--pool 0] [--keep-db]

Runs in a database of its own (`bench_tenancy_<pid>` on the PostgreSQL of DATABASE_URL, created
here and dropped at the end unless --keep-db), so it never touches development data.

1. Onboarding: one process creates `--orgs` organizations through
   `tenants.services.onboarding.organization_create`, back to back on one database connection
   (the case that used to slow down with every clone), and prints p50/p95/max per `--window`
   organizations. Meanwhile the signup page (GET /signup/ under gunicorn with the production
   config) is fetched every 0.25 s; its latency is printed for the same windows. With `--pool N`
   a second process keeps N schemas cloned ahead (as the beat task does); by default every
   signup clones its own (the pool's worst case: it is empty).
2. Migrations (`manage.py migrate_platform --processes P`): a no-op run, then a run adding one
   nullable field to every tenant schema (a temporary copy of the `whatsapp` migrations with one
   extra AddField, through MIGRATION_MODULES), then a no-op again; each timed, with the
   extrapolation to 10,000 organizations (the time the command spent on the organizations'
   schemas times 10, plus the rest: start-up, public schema, template).
3. The catalog: pg_class / pg_attribute rows and database size, per organization.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gunicorn_server import free_port, gunicorn_start

PYTHON = sys.executable
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:54329/saas_platform")
ADMIN = "admin@bench-tenancy.test"


def database_url(name: str) -> str:
    return SERVER_URL.rsplit("/", 1)[0] + "/" + name


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- child processes (Django configured from the environment) ---------------------------------


def child_onboard(count: int) -> None:
    """Create `count` organizations in this process; one JSON line per organization."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tenants.services.onboarding import organization_create

    # One existing admin for all: password hashing (~0.3 s) would otherwise dominate the figure.
    get_user_model().objects.create_user(username=ADMIN, email=ADMIN, password="bench-pass-123")
    for index in range(count):
        started = time.perf_counter()
        organization_create(
            slug=f"bench-{index:05d}", name=f"Bench {index}", admin_email=ADMIN, admin_password="x"
        )
        took = time.perf_counter() - started
        print(json.dumps({"i": index, "at": time.time(), "s": took}), flush=True)


def child_refill(size: int) -> None:
    """Keep `size` pooled schemas, as beat's schema_pool_refill_task does (every 0.5 s here)."""
    import django

    django.setup()
    from tenants.services.schemas import schema_pool_refill

    while True:
        schema_pool_refill()
        time.sleep(0.5)


def child_catalog() -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute), "
            "pg_database_size(current_database()), "
            "(SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'org\\_%%')"
        )
        print(
            json.dumps(
                dict(
                    zip(
                        ("pg_class", "pg_attribute", "bytes", "orgs"),
                        cursor.fetchone(),
                        strict=True,
                    )
                )
            )
        )


# --- the run ----------------------------------------------------------------------------------


def run_manage(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    took = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return took, done.stdout


def extra_field_migrations(tmp: Path) -> str:
    """A copy of the whatsapp migrations plus one nullable AddField; returns the package name."""
    package = tmp / "bench_whatsapp_migrations"
    shutil.copytree(ROOT / "whatsapp" / "migrations", package)
    leaves = sorted(p.stem for p in package.glob("[0-9][0-9][0-9][0-9]_*.py"))
    (package / "9999_bench_nullable_field.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('whatsapp', '{leaves[-1]}')]\n"
        "    operations = [migrations.AddField(model_name='contact', name='bench_note',"
        " field=models.CharField(max_length=50, null=True))]\n"
    )
    (tmp / "bench_tenancy_settings.py").write_text(
        "from saas_platform.settings import *  # noqa\n"
        "MIGRATION_MODULES = {'whatsapp': 'bench_whatsapp_migrations'}\n"
    )
    return "bench_tenancy_settings"


def signup_probe(url: str, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    request = urllib.request.Request(url, headers={"Host": "localhost"})  # noqa: S310
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            response.read()
        samples.append((time.time(), time.perf_counter() - started))
        stop.wait(0.25)


def onboarding(env: dict[str, str], args: argparse.Namespace) -> None:
    port = free_port()
    server = gunicorn_start(
        "saas_platform.wsgi:application", env={**env, "PORT": str(port)}, port=port, name="web"
    )
    refiller = None
    if args.pool:
        refiller = subprocess.Popen(
            [PYTHON, __file__, "_refill", str(args.pool)], cwd=ROOT, env=env
        )
        time.sleep(min(10, args.pool * 0.5))
    # A first request loads the page's code in the server; it is not part of the run.
    page_url = f"http://127.0.0.1:{port}/signup/"
    warm = urllib.request.Request(page_url, headers={"Host": "localhost"})
    urllib.request.urlopen(warm, timeout=30).read()  # noqa: S310 (loopback)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    probe = threading.Thread(target=signup_probe, args=(page_url, stop, samples))
    probe.start()
    rows = []
    try:
        child = subprocess.Popen(
            [PYTHON, __file__, "_onboard", str(args.orgs)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in child.stdout:
            rows.append(json.loads(line))
        if child.wait():
            raise SystemExit("onboarding child failed")
    finally:
        stop.set()
        probe.join()
        server.terminate()
        if refiller is not None:
            refiller.terminate()
    print(f"\nOnboarding {args.orgs} organizations, one process, one connection (ms)")
    print(
        f"{'orgs':>12}{'p50':>8}{'p95':>8}{'max':>8}   {'signup GET p50':>14}{'p95':>8}{'max':>8}"
    )
    worst_p95 = worst_page = 0.0
    for start in range(0, len(rows), args.window):
        window = rows[start : start + args.window]
        took = [r["s"] * 1000 for r in window]
        first, last = window[0]["at"] - window[0]["s"], window[-1]["at"]
        page = [s * 1000 for at, s in samples if first <= at <= last] or [0.0]
        worst_p95 = max(worst_p95, pct(took, 0.95))
        worst_page = max(worst_page, max(page))
        print(
            f"{start + 1:>5}-{start + len(window):<6}{statistics.median(took):>8.0f}"
            f"{pct(took, 0.95):>8.0f}{max(took):>8.0f}   {statistics.median(page):>14.0f}"
            f"{pct(page, 0.95):>8.0f}{max(page):>8.0f}"
        )
    print(
        f"worst window p95 {worst_p95:.0f} ms (target < 500: "
        f"{'met' if worst_p95 < 500 else 'NOT met'}); slowest signup page {worst_page:.0f} ms "
        f"(target < 1000: {'met' if worst_page < 1000 else 'NOT met'})"
    )


def migrations(env: dict[str, str], args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-tenancy-"))
    try:
        settings_module = extra_field_migrations(tmp)
        extra_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "PYTHONPATH": os.pathsep.join([str(tmp), env.get("PYTHONPATH", "")]),
        }
        processes = str(args.processes)
        runs = [
            ("no-op", env),
            ("one nullable field", extra_env),
            ("no-op after the change", extra_env),
        ]
        print(f"\nmigrate_platform --processes {processes} ({args.orgs} organizations + template)")
        print(f"{'run':<26}{'seconds':>9}{'at 10,000 (est.)':>18}")
        for label, run_env in runs:
            took, out = run_manage(run_env, "migrate_platform", "--processes", processes)
            found = re.search(
                r"All schemas migrated \((\d+) this run\) in [\d.]+ s "
                r"\(organization and pooled schemas: ([\d.]+) s\)",
                out,
            )
            migrated, per_schema_part = found.group(1), float(found.group(2))
            # What grows with the schema count times 10; the rest (start-up, public, template)
            # does not grow.
            estimate = took + per_schema_part * (10_000 / max(args.orgs, 1) - 1)
            print(
                f"{label:<26}{took:>9.1f}{estimate:>18.0f}   ({migrated} schemas migrated; "
                f"{per_schema_part:.1f} s over the organizations' schemas)"
            )
        print("(targets at this size: one field < 60 s, no-op < 15 s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pool", type=int, default=0, help="schemas kept cloned ahead")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    name = f"bench_tenancy_{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(name),
        "DJANGO_SETTINGS_MODULE": "saas_platform.settings",
        "TENANT_SCHEMA_POOL_SIZE": str(args.pool),
        "LOG_LEVEL": "WARNING",
    }
    admin_sql(f'CREATE DATABASE "{name}"')
    print(f"database {name}")
    try:
        run_manage(env, "migrate_platform", "--verbosity", "0")
        onboarding(env, args)
        migrations(env, args)
        catalog = json.loads(
            subprocess.run(
                [PYTHON, __file__, "_catalog"], cwd=ROOT, env=env, capture_output=True, text=True
            ).stdout
        )
        orgs = max(catalog["orgs"], 1)
        print(
            f"\ncatalog: {catalog['pg_class']} pg_class, {catalog['pg_attribute']} pg_attribute "
            f"rows, {catalog['bytes'] / 2**20:.0f} MB for {catalog['orgs']} organizations "
            f"(~{catalog['bytes'] / orgs / 2**20:.2f} MB each)"
        )
    finally:
        if not args.keep_db:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.path.insert(0, str(ROOT))
        role, *rest = sys.argv[1:]
        {
            "_onboard": lambda: child_onboard(int(rest[0])),
            "_refill": lambda: child_refill(int(rest[0])),
            "_catalog": child_catalog,
        }[role]()
    else:
        main()
