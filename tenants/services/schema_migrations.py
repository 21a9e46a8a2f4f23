"""Migrating every tenant schema in bounded time: skip what is done, run the rest in parallel.

`manage.py migrate_platform` drives this. The costs it avoids (measured on 1,000 schemas with
django-tenants' `migrate_schemas`, one schema after another: 224 s with nothing to do):

- Finding what to do: schemas a run recorded done at the current target are skipped with one
  query on the public table; the others (new organizations, failed schemas; all of them with
  `--verify`) are checked with one query per 500 schemas that reads their `django_migrations`
  and keeps those lacking one of the migration graph's leaves (`schemas_pending`).
- Per schema: Django's `migrate` command loads the migration graph from disk, replays every
  applied migration into a project state and renders its models before doing anything. Here each
  worker process loads the graph once and renders the state before the plan once per distinct
  starting point (`SchemaMigrator`), then each schema only runs its own plan's SQL.
- Schemas are spread over worker processes (`schemas_migrate`), fresh interpreters started
  with "spawn" (tenants/services/schema_migration_worker.py says why not forks).

Progress is kept in `tenants.SchemaMigrationState` (one row per schema, written by the worker
right after the schema's transaction commits), so after a failure the operator can see which
schemas are done, which failed and why; running the command again migrates only what is still
pending, failed ones included. Migrations are forward only here; each migration is atomic, so a
failed schema is left at its last good migration.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from tenants.models import Organization, PooledSchema, SchemaMigrationState
from tenants.services.schema_migration_worker import DATABASE_KEYS, worker_init

logger = logging.getLogger(__name__)

PENDING_QUERY_CHUNK = 500


@dataclass(frozen=True)
class MigrationTarget:
    """The leaf migration of every app (`app.name` strings) and a short hash naming the set."""

    leaves: tuple[str, ...]
    digest: str


@dataclass(frozen=True)
class SchemaResult:
    schema_name: str
    ok: bool
    applied: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class MigrationReport:
    """What one `schemas_migrate` call did; `failed` holds the failed schemas' results."""

    migrated: list[SchemaResult] = field(default_factory=list)
    failed: list[SchemaResult] = field(default_factory=list)
    seconds: float = 0.0


def migration_target() -> MigrationTarget:
    """The state every tenant schema must reach: the leaves of the migration graph."""
    executor = MigrationExecutor(connection)
    leaves = tuple(sorted(f"{app}.{name}" for app, name in executor.loader.graph.leaf_nodes()))
    digest = hashlib.sha256("\n".join(leaves).encode()).hexdigest()[:16]
    return MigrationTarget(leaves=leaves, digest=digest)


def tenant_schemas() -> list[str]:
    """Every schema holding tenant tables: the template first, then organizations and pooled
    schemas, each only if it exists."""
    names = [settings.TENANT_BASE_SCHEMA]
    names += Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list(
        "schema_name", flat=True
    )
    names += PooledSchema.objects.values_list("schema_name", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s)", [names]
        )
        existing = {row[0] for row in cursor.fetchall()}
    return [name for name in dict.fromkeys(names) if name in existing]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schemas_pending(*, schemas: list[str], target: MigrationTarget) -> list[str]:
    """The schemas (in the given order) whose `django_migrations` lacks a leaf of `target`.

    One query per PENDING_QUERY_CHUNK schemas; a schema without the table is pending.
    """
    if not schemas:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_catalog.pg_namespace n WHERE nspname = ANY(%s) AND EXISTS "
            "(SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid "
            "AND c.relname = 'django_migrations')",
            [schemas],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        done: set[str] = set()
        for chunk in _chunks([s for s in schemas if s in with_table], PENDING_QUERY_CHUNK):
            # Names come from pg_namespace and are quoted as identifiers.
            parts = [
                f"SELECT %s FROM {_quote(name)}.django_migrations "  # noqa: S608
                "WHERE app || '.' || name = ANY(%s) HAVING count(*) = %s"
                for name in chunk
            ]
            params: list[object] = []
            for name in chunk:
                params += [name, list(target.leaves), len(target.leaves)]
            cursor.execute(" UNION ALL ".join(parts), params)
            done.update(row[0] for row in cursor.fetchall())
    return [name for name in schemas if name not in done]


def schemas_to_migrate(
    *, schemas: list[str], target: MigrationTarget, verify: bool = False
) -> list[str]:
    """The schemas of `schemas` that need migrating to `target`.

    Schemas that a run recorded DONE at this target are trusted (one query on the public
    table), unless `verify`; the others are checked with `schemas_pending`, and those found at
    the target are recorded DONE so that the next run skips them too.
    """
    unchecked = schemas
    if not verify:
        done = set(
            SchemaMigrationState.objects.filter(
                target=target.digest,
                state=SchemaMigrationState.State.DONE,
                schema_name__in=schemas,
            ).values_list("schema_name", flat=True)
        )
        unchecked = [name for name in schemas if name not in done]
    pending = schemas_pending(schemas=unchecked, target=target)
    at_target = set(unchecked) - set(pending)
    now = timezone.now()
    SchemaMigrationState.objects.bulk_create(
        [
            SchemaMigrationState(
                schema_name=name,
                target=target.digest,
                state=SchemaMigrationState.State.DONE,
                finished_at=now,
            )
            for name in sorted(at_target)
        ],
        update_conflicts=True,
        unique_fields=["schema_name"],
        update_fields=["target", "state", "error", "finished_at"],
        batch_size=1000,
    )
    return pending


def schema_states_prune(*, existing: list[str]) -> int:
    """Delete the progress rows of schemas that no longer exist (claimed pool schemas were
    renamed, deleted organizations dropped); returns how many."""
    deleted, _ = SchemaMigrationState.objects.exclude(schema_name__in=existing).delete()
    return deleted


class SchemaMigrator:
    """Forward-migrates schemas on this process's connection, reusing what does not change.

    The migration graph is loaded once. When every migration of a schema's plan is atomic and
    made only of operations that reduce to SQL (no RunPython), the plan's SQL is collected once
    (as `sqlmigrate` does) and each schema runs it, with its `django_migrations` records, in one
    transaction: a few statements per schema instead of re-rendering models for every schema.
    Other plans run through Django's executor, with the rendered state before the plan computed
    once per distinct set of applied migrations and cloned for each schema.
    """

    def __init__(self) -> None:
        self.executor = MigrationExecutor(connection)
        self._states: dict[frozenset, object] = {}
        self._sql: dict[tuple, str | None] = {}

    def migrate(self, schema_name: str) -> int:
        """Apply the pending migrations of one schema; returns how many were applied."""
        executor = self.executor
        loader = executor.loader
        table = f"{_quote(schema_name)}.django_migrations"
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
            has_table = cursor.fetchone()[0]
        if not has_table or loader.replacements:
            return self._migrate_with_executor(schema_name)
        connection.set_schema(schema_name)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT app, name FROM {table}")  # noqa: S608 (quoted identifier)
            loader.applied_migrations = {key: True for key in cursor.fetchall()}
        plan = executor.migration_plan(loader.graph.leaf_nodes())
        if not plan:
            return 0
        key = tuple((migration.app_label, migration.name) for migration, _ in plan)
        if key not in self._sql:
            self._sql[key] = self._collect_sql(plan)
        sql = self._sql[key]
        if sql is None:
            return self._migrate_with_executor(schema_name)
        with transaction.atomic(), connection.cursor() as cursor:
            if sql.strip():
                cursor.execute(sql)
            cursor.executemany(
                f"INSERT INTO {table} (app, name, applied) VALUES (%s, %s, now())",  # noqa: S608
                list(key),
            )
        return len(plan)

    def _collect_sql(self, plan: list) -> str | None:
        """The SQL of `plan` as one script, or None when part of it is not plain SQL."""
        for migration, backwards in plan:
            if backwards or not migration.atomic:
                return None
            if not all(operation.reduces_to_sql for operation in migration.operations):
                return None
        return "\n".join(self.executor.loader.collect_sql(plan))

    def _migrate_with_executor(self, schema_name: str) -> int:
        executor = self.executor
        loader = executor.loader
        # The recorder must see this schema's table only: with public on the search path, a
        # schema without `django_migrations` would read (and write) public's.
        connection.set_schema(schema_name, include_public=False)
        MigrationRecorder(connection).ensure_schema()
        applied = MigrationRecorder(connection).applied_migrations()
        connection.set_schema(schema_name)
        if loader.replacements:
            loader.build_graph()  # squashed migrations: the graph depends on what is applied
        else:
            loader.applied_migrations = applied
        targets = loader.graph.leaf_nodes()
        plan = executor.migration_plan(targets)
        if not plan:
            return 0
        key = frozenset(k for k in applied if k in loader.graph.nodes)
        state = self._states.get(key)
        if state is None:
            state = executor._create_project_state(with_applied_migrations=True)
            state.apps  # noqa: B018 -- render the models once; clones copy the rendered apps
            self._states[key] = state
        executor.migrate(targets, plan=plan, state=state.clone())
        return len(plan)


_migrator: SchemaMigrator | None = None


def _record(result: SchemaResult, digest: str) -> None:
    connection.set_schema_to_public()
    SchemaMigrationState.objects.update_or_create(
        schema_name=result.schema_name,
        defaults={
            "target": digest,
            "state": (
                SchemaMigrationState.State.DONE if result.ok else SchemaMigrationState.State.FAILED
            ),
            "error": result.error,
            "applied": result.applied,
            "seconds": round(result.seconds, 3),
            "finished_at": timezone.now(),
        },
    )


def schema_migrate(*, schema_name: str, digest: str) -> SchemaResult:
    """Migrate one schema forward and record the outcome; errors are returned, not raised."""
    global _migrator  # one per worker process, built on first use
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s) IS NULL", [_quote(schema_name)])
        if cursor.fetchone()[0]:
            # A pooled schema claimed (renamed) since the list was made: its new name is
            # picked up by the caller's next pass.
            return SchemaResult(schema_name, True, 0, 0.0, "schema no longer exists")
    try:
        if _migrator is None:
            _migrator = SchemaMigrator()
        applied = _migrator.migrate(schema_name)
        result = SchemaResult(schema_name, True, applied, time.perf_counter() - started)
    except Exception as exc:
        logger.exception("migrating schema %s failed", schema_name)
        message = f"{type(exc).__name__}: {exc}".strip()[:2000]
        result = SchemaResult(schema_name, False, 0, time.perf_counter() - started, message)
    _record(result, digest)
    return result


def _migrate_batch(args: tuple[list[str], str]) -> list[SchemaResult]:
    schemas, digest = args
    return [schema_migrate(schema_name=name, digest=digest) for name in schemas]


def schemas_migrate(
    *,
    schemas: list[str],
    target: MigrationTarget,
    processes: int = 2,
    batch: int = 10,
    on_progress: Callable[[int, int, SchemaResult], None] | None = None,
) -> MigrationReport:
    """Migrate `schemas` forward in `processes` worker processes (in this one when 1).

    The workers are fresh interpreters ("spawn") set up with this process's settings module
    and database (tenants/services/schema_migration_worker.py). Failures do not stop the other
    schemas; they are in the report and in SchemaMigrationState. `on_progress(done, total,
    result)` is called after each schema. Raises BrokenProcessPool when a worker dies or
    cannot set Django up.
    """
    report = MigrationReport()
    started = time.perf_counter()
    total = len(schemas)
    batches = [(chunk, target.digest) for chunk in _chunks(schemas, batch)]

    def results() -> Iterable[list[SchemaResult]]:
        if processes <= 1 or total <= batch:
            for item in batches:
                yield _migrate_batch(item)
            connection.set_schema_to_public()
            return
        database = {key: connection.settings_dict[key] for key in DATABASE_KEYS}
        with ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init,
            initargs=(settings.SETTINGS_MODULE, database),
        ) as pool:
            futures = [pool.submit(_migrate_batch, item) for item in batches]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:  # on an error or an interrupt, batches not started yet are dropped
                pool.shutdown(cancel_futures=True)

    done = 0
    for batch_results in results():
        for result in batch_results:
            done += 1
            (report.migrated if result.ok else report.failed).append(result)
            if on_progress is not None:
                on_progress(done, total, result)
    report.seconds = time.perf_counter() - started
    return report
