"""Shared fixtures: a migrated test database with two organizations, clients for their hosts,
a live WSGI server, a real Celery worker, the webhook worker loop and a WhatsApp sandbox.

Two kinds of database access:
- `db` (most tests): each test runs in a transaction that is rolled back. Fast, but other
  threads and processes (a live server, a Celery worker) cannot see its rows.
- `live_db` (integration tests): rows are committed so that servers and workers see them; the
  fixture empties the tenant tables and the public webhook/number tables afterwards.
  pytest-django's `transactional_db`/`live_server` are NOT used: their flush would truncate the
  public schema's organization rows under the session's tenants.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Organization

PASSWORD = "correct-horse-battery-staple"
ORG_SLUGS = ("alpha", "beta")


@dataclass(frozen=True)
class OrgFixture:
    """An organization created once per session, with its host and admin credentials."""

    organization: Organization
    host: str
    admin_email: str
    password: str = PASSWORD

    @property
    def org_id(self) -> str:
        return str(self.organization.org_id)

    @property
    def schema(self) -> str:
        return self.organization.schema_name


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
) -> Iterator[None]:
    """The test database, plus the public host, the template schema and two orgs.

    Replaces pytest-django's fixture, which creates test databases only for the aliases that
    `db`-marked tests ask for: a session of `live_db` tests alone would otherwise run against
    the development database. This one always creates the default test database.
    """
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services.onboarding import (
        ensure_template_schema,
        organization_create,
        public_tenant_ensure,
    )

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        db_config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=keepdb,
            aliases={"default"},
            serialized_aliases=set(),
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "not a test database"
        public_tenant_ensure()
        ensure_template_schema()
        for slug in ORG_SLUGS:
            if not Organization.objects.filter(slug=slug).exists():
                organization_create(
                    slug=slug,
                    name=slug.title(),
                    admin_email=f"admin@{slug}.test",
                    admin_password=PASSWORD,
                )
        connection.set_schema_to_public()
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            teardown_databases(db_config, verbosity=request.config.option.verbose)


def _org_fixture(slug: str) -> OrgFixture:
    organization = Organization.objects.get(slug=slug)
    return OrgFixture(
        organization=organization,
        host=f"{slug}.{settings.BASE_DOMAIN}",
        admin_email=f"admin@{slug}.test",
    )


@pytest.fixture(scope="session")
def org_a(django_db_setup, django_db_blocker) -> OrgFixture:
    with django_db_blocker.unblock():
        return _org_fixture("alpha")


@pytest.fixture(scope="session")
def org_b(django_db_setup, django_db_blocker) -> OrgFixture:
    with django_db_blocker.unblock():
        return _org_fixture("beta")


@pytest.fixture(autouse=True)
def _reset_schema_to_public() -> Iterator[None]:
    """A test that switched tenants must not leave the connection in that schema."""
    yield
    if connection.connection is not None or getattr(connection, "tenant", None) is not None:
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _empty_host_cache() -> Iterator[None]:
    """The per-process host -> organization cache must not carry rows a rolled-back test wrote."""
    from tenants.middleware import host_cache

    host_cache.clear()
    yield
    host_cache.clear()


@contextlib.contextmanager
def in_tenant(org: OrgFixture) -> Iterator[None]:
    """Run the block inside `org`'s schema."""
    with schema_context(org.schema):
        yield


@pytest.fixture
def tenant_client():
    """`tenant_client(org)` is a Django test client whose requests go to `org`'s host."""

    def make(org: OrgFixture) -> Client:
        return Client(HTTP_HOST=org.host)

    return make


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


@pytest.fixture
def make_user(db):
    """`make_user(email, org=None, role="member", is_staff=False)` with the shared PASSWORD."""
    from tests.factories import MembershipFactory, UserFactory

    def make(email: str, org: OrgFixture | None = None, role: str = "member", **extra):
        user = UserFactory(username=email, **extra)
        if org is not None:
            MembershipFactory(user=user, organization=org.organization, role=role)
        return user

    return make


# --- Committed data, live servers and workers (integration tests) ------------------------------
# The raw event table first: the webhook worker locks it first too (its claim), so emptying the
# tables while the worker runs cannot deadlock on the public ones.
PUBLIC_TABLES_EMPTIED_AFTER_LIVE_TESTS = (
    "tenants_rawwebhookevent",
    "tenants_webhookchange",
    "tenants_accountevent",
    "tenants_whatsappcredential",
    "tenants_phonenumber",
    # Billing's counters and invoices (the subscriptions of the session orgs stay).
    "billing_stub_usagecounter",
    "billing_stub_invoice",
    # Sign-in attempts (django-axes): a lockout must not outlive the test that caused it.
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
)


def _truncate_test_data() -> None:
    """Empty the test data; retried if PostgreSQL picks the TRUNCATE as a deadlock victim (the
    session's webhook worker may be mid-batch on the same tables)."""
    for attempt in range(5):
        try:
            _truncate_once()
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.1)


def _truncate_once() -> None:
    with connection.cursor() as cursor:
        for slug in ORG_SLUGS:
            schema = "org_" + slug
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND tablename <> 'django_migrations'",
                [schema],
            )
            tables = [f'"{schema}"."{name}"' for (name,) in cursor.fetchall()]
            if tables:
                cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        existing = []
        for table in PUBLIC_TABLES_EMPTIED_AFTER_LIVE_TESTS:
            cursor.execute("SELECT to_regclass(%s)", [f"public.{table}"])
            if cursor.fetchone()[0]:
                existing.append(f"public.{table}")
        if existing:
            cursor.execute(f"TRUNCATE {', '.join(existing)} CASCADE")


@pytest.fixture
def live_db(django_db_setup, django_db_blocker, org_a, org_b) -> Iterator[None]:
    """Committed database access; tenant data and webhook/number rows are emptied afterwards."""
    with django_db_blocker.unblock():
        # Truncating is only ever done to a test database.
        assert connection.settings_dict["NAME"].startswith("test_"), "not a test database"
        connection.set_schema_to_public()
        _truncate_test_data()
        yield
        connection.set_schema_to_public()
        _truncate_test_data()


@dataclass(frozen=True)
class LiveServer:
    """Requests reach a tenant by sending its host in the Host header."""

    url: str
    port: int


@pytest.fixture(scope="session")
def platform_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    """The platform's WSGI app on a real loopback port, in a thread, for the whole session."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    django_db_blocker.unblock()  # server threads open their own connections
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.daemon_threads = True
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield LiveServer(url=f"http://127.0.0.1:{port}", port=port)
    server.shutdown()
    server.server_close()
    # Request threads ended without closing their connections (CONN_MAX_AGE): end them, or
    # the test database cannot be dropped.
    _end_other_database_sessions()
    django_db_blocker.restore()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[object]:
    """A real Celery worker (thread pool) consuming the test broker, for the whole session."""
    from celery.contrib.testing.worker import start_worker

    from saas_platform.celery import app

    django_db_blocker.unblock()
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker
    # The pool's threads keep their database sessions across tasks (saas_platform.celery) and
    # are not asked to close them: end them, or the test database cannot be dropped.
    _end_other_database_sessions()
    django_db_blocker.restore()


def _end_other_database_sessions() -> None:
    # On a fresh session of our own: a test may have ended this thread's (pg_terminate_backend).
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


class WebhookWorkerThread:
    """The webhook worker loop (`manage.py webhook_worker`'s) in a thread of the test process,
    on its own database connection; started once and kept for the session."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        from whatsapp.webhooks.worker import webhook_worker_run

        if self.running:
            return
        self._stop = threading.Event()
        stop = self._stop

        def run() -> None:
            try:
                webhook_worker_run(stop=stop, poll_seconds=0.2)
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, name="webhook-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None


_WEBHOOK_WORKER = WebhookWorkerThread()


@pytest.fixture(scope="session")
def webhook_worker(django_db_setup, django_db_blocker) -> Iterator[WebhookWorkerThread]:
    """A running webhook worker: it claims committed webhook events, routes them and applies
    their changes in the tenants (integration tests, with `live_db`)."""
    django_db_blocker.unblock()
    _WEBHOOK_WORKER.start()
    yield _WEBHOOK_WORKER
    _WEBHOOK_WORKER.stop()
    django_db_blocker.restore()


@pytest.fixture
def no_webhook_worker(live_db) -> Iterator[None]:
    """No background worker for this test (it drives `webhook_batch_process` itself); the
    session's worker, if it was running, is started again afterwards."""
    was_running = _WEBHOOK_WORKER.running
    _WEBHOOK_WORKER.stop()
    yield
    if was_running:
        _WEBHOOK_WORKER.start()


@pytest.fixture(scope="session")
def sandbox_server(platform_server) -> Iterator[object]:
    """The WhatsApp sandbox (Meta simulator) on a loopback port for the whole session.

    It signs with the platform's app secret and delivers webhooks to the platform server's
    shared endpoint. Status receipts are off unless a test turns them on.
    """
    from whatsapp.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(
        port=0,
        app_id=settings.WHATSAPP_APP_ID,
        app_secret=settings.WHATSAPP_APP_SECRET,
        webhook_url=f"{platform_server.url}/webhooks/whatsapp/",
        auto_status=False,
        quiet=True,
    )
    server = SandboxServer(config).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings) -> Iterator[object]:
    """A client of the session's sandbox, reset for this test (faults, tokens, windows,
    recorded requests, config); the platform's Graph clients point at it."""
    from whatsapp.sandbox import SandboxClient

    client = SandboxClient(sandbox_server.url)
    client.reset()
    settings.WHATSAPP_GRAPH_URL = sandbox_server.url
    yield client
    client.close()


@pytest.fixture
def graph_url(sandbox) -> str:
    """The sandbox's base URL, for tests that only need the Graph API pointed at it."""
    return sandbox.base_url


def run_concurrently(action: Callable[[], object], *, threads: int = 2) -> list[object]:
    """Run `action` in `threads` threads released at the same instant, each on its own database
    connection; returns their results. Re-raises the first error (committed data: `live_db`)."""
    start = threading.Barrier(threads)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(action())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    if errors:
        raise errors[0]
    assert len(results) == threads, "a thread did not finish within 30 s"
    return results


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.05
) -> object:
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")
        time.sleep(interval)
