"""Organization schemas made ahead of signup: a pool of copies of the template schema.

django-tenants' `clone_schema` PL/pgSQL routine costs about 0.3 s on a fresh PostgreSQL
session, but each clone made on the same session makes the next one slower (the backend's
catalog caches and invalidations grow with every relation it created; 7.5 s by the 105th clone
in benchmarks/schema_creation.py) and django-tenants reinstalls the 4,600-line routine before
every clone. So:

- a copy replays the template's DDL (`pg_dump --schema-only` of the template, taken once per
  template state and cached by this process) plus its `django_migrations` rows: a third of the
  routine's time. Without `pg_dump` the routine is used, installed once
  (`clone_function_install`, by `ensure_template_schema` and `migrate_platform`), not per clone;
- every copy runs on its own short-lived session, whatever the caller's connection has done;
- copies are made ahead into `pool_<hex>` schemas (`schema_pool_fill`, run by the beat task
  `schema_pool_refill_task` up to `TENANT_SCHEMA_POOL_SIZE`), and signup only claims one:
  `SELECT ... FOR UPDATE SKIP LOCKED` plus `ALTER SCHEMA ... RENAME` in the caller's transaction
  (`schema_pool_claim`), a catalog update of one row. When the pool is empty the claim makes
  one itself first, on its own session.

A copy is committed with its pool row in one transaction of that session, so a schema is either
pooled or claimed, never orphaned: a signup that rolls back leaves its schema in the pool.
Pooled schemas carry the template's `django_migrations` rows and are migrated with every other
schema by `migrate_platform`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import uuid

from django.conf import settings
from django.db import connection, transaction
from django_tenants.clone import CLONE_SCHEMA_FUNCTION

from tenants.errors import OnboardingError
from tenants.models import PooledSchema

logger = logging.getLogger(__name__)

POOL_PREFIX = "pool_"
_CLONE_SIGNATURE = "public.clone_schema(text, text, public.cloneparms[])"
_PLACEHOLDER = "__clone_target__"
# The template's DDL (pg_dump --schema-only, schema name replaced by _PLACEHOLDER), per process,
# keyed by the template's migration records: replaying it costs a third of `clone_schema`.
_ddl_cache: dict[tuple, str] = {}


def _template_key(cursor, template: str) -> tuple:
    cursor.execute(
        f'SELECT count(*), max(id), max(applied) FROM "{template}".django_migrations'  # noqa: S608
    )
    return (template, *cursor.fetchone())


def template_ddl(*, session, template: str) -> str | None:
    """The template schema's DDL with its name replaced by a placeholder, or None when
    `pg_dump` is not on this machine (then `clone_schema` is used). Cached per template state."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    with session.cursor() as cursor:
        key = _template_key(cursor, template)
    if key in _ddl_cache:
        return _ddl_cache[key]
    params = session.get_connection_params()
    env = {**os.environ, "PGPASSWORD": str(params.get("password") or "")}
    command = [pg_dump, "--schema-only", "--no-owner", "--no-privileges", f"--schema={template}"]
    for flag, name in (("--host", "host"), ("--port", "port"), ("--username", "user")):
        if params.get(name):
            command.append(f"{flag}={params[name]}")
    command.append(f"--dbname={params['dbname']}")
    # A fixed argument list (no shell); the values are this database's own settings.
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    if done.returncode:
        logger.warning("pg_dump of the template failed, cloning instead: %s", done.stderr[-500:])
        return None
    # psql meta-commands (`\restrict`) and comments are not SQL the server takes.
    lines = [
        line
        for line in done.stdout.splitlines()
        if not line.startswith("\\") and not line.startswith("--")
    ]
    ddl = re.sub(rf"\b{re.escape(template)}\b", _PLACEHOLDER, "\n".join(lines))
    _ddl_cache.clear()
    _ddl_cache[key] = ddl
    return ddl


def clone_function_install(*, force: bool = False, using=None) -> bool:
    """Install django-tenants' `public.clone_schema` routine unless it is there (or `force`).

    Returns True when it was (re)installed. `using` is a database wrapper (default: the
    current connection).
    """
    db = using or connection
    with db.cursor() as cursor:
        if not force:
            cursor.execute(
                "SELECT to_regtype('public.cloneparms') IS NOT NULL "
                "AND to_regprocedure(%s) IS NOT NULL",
                [_CLONE_SIGNATURE],
            )
            if cursor.fetchone()[0]:
                return False
        db_user = settings.DATABASES["default"].get("USER") or "postgres"
        cursor.execute(CLONE_SCHEMA_FUNCTION.format(db_user=db_user))
    return True


def schema_pool_fill(*, count: int) -> list[str]:
    """Copy the template into `count` new pool schemas; returns their names.

    Each copy runs on a new PostgreSQL session (closed afterwards) and commits the schema
    together with its `PooledSchema` row, so its cost does not depend on what this process did
    before. Raises OnboardingError when the template schema does not exist.
    """
    template = settings.TENANT_BASE_SCHEMA
    created: list[str] = []
    for _ in range(count):
        name = POOL_PREFIX + uuid.uuid4().hex[:16]
        session = connection.copy()
        try:
            session.set_schema_to_public()
            clone_function_install(using=session)
            with session.cursor() as cursor:
                cursor.execute("SELECT to_regnamespace(%s) IS NOT NULL", [template])
                if not cursor.fetchone()[0]:
                    raise OnboardingError(f"template schema '{template}' does not exist")
            ddl = template_ddl(session=session, template=template)
            raw = session.connection
            with raw.transaction(), raw.cursor() as cursor:
                if ddl is None:
                    cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, name])
                else:
                    cursor.execute(ddl.replace(_PLACEHOLDER, name))
                    # The template holds no rows but its migration records.
                    cursor.execute(
                        f'INSERT INTO "{name}".django_migrations (app, name, applied) '  # noqa: S608
                        f'SELECT app, name, applied FROM "{template}".django_migrations ORDER BY id'
                    )
                cursor.execute(
                    "INSERT INTO public.tenants_pooledschema (schema_name, created_at) "
                    "VALUES (%s, now())",
                    [name],
                )
        finally:
            session.close()
        created.append(name)
    if created:
        logger.info("schema pool: %d schema(s) cloned from %s", len(created), template)
    return created


def schema_pool_refill() -> int:
    """Top the pool up to `TENANT_SCHEMA_POOL_SIZE` schemas; returns how many were added."""
    missing = settings.TENANT_SCHEMA_POOL_SIZE - PooledSchema.objects.count()
    return len(schema_pool_fill(count=missing)) if missing > 0 else 0


def schema_pool_claim(*, schema_name: str) -> None:
    """Give a pooled schema the name `schema_name`, in the caller's transaction.

    Clones one first when the pool is empty (or every pooled schema is being claimed by a
    concurrent signup). Raises OnboardingError when a schema of that name already exists.
    Must run inside a transaction (`organization_create` is atomic).
    """
    for _attempt in range(3):
        pooled = PooledSchema.objects.select_for_update(skip_locked=True).order_by("id").first()
        if pooled is None:
            schema_pool_fill(count=1)
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_catalog.pg_namespace WHERE lower(nspname) = lower(%s)",
                [schema_name],
            )
            if cursor.fetchone():
                raise OnboardingError(f"schema '{schema_name}' already exists")
            with transaction.atomic():
                cursor.execute(f'ALTER SCHEMA "{pooled.schema_name}" RENAME TO "{schema_name}"')
        pooled.delete()
        return
    raise OnboardingError("no schema could be prepared for the organization; try again")
