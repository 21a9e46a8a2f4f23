"""Set-based INSERTs for the webhook's batch apply: one statement for many rows.

Django's `bulk_create(ignore_conflicts=True)` cannot tell which rows it inserted; the inbound
batch needs exactly that (a redelivered wamid is a duplicate, not an error). `insert_ignore`
runs `INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING <fields>` through Django's
own insert compiler, so field defaults, `auto_now_add` and JSON adaptation are the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models.constants import OnConflict


def insert_ignore(
    model: type[models.Model], objs: Sequence[models.Model], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert `objs` (unsaved instances of `model`) in one statement, skipping every row that
    conflicts with a unique constraint; returns the `returning` columns of the inserted rows
    only (in no promised order). Raises what the database raises for any other error."""
    if not objs:
        return []
    opts = model._meta
    # Nullable columns that are None in every row are left to the database (NULL): fewer
    # values to adapt (Django sends each column as one array; psycopg quotes every element).
    fields = [
        f
        for f in opts.concrete_fields
        if not f.generated
        and f is not opts.pk
        and not (f.null and all(getattr(obj, f.attname) is None for obj in objs))
    ]
    returning_fields = [opts.get_field(name) for name in returning]
    rows = model._base_manager._insert(  # Django's insert compiler, with RETURNING kept
        list(objs),
        fields=fields,
        returning_fields=returning_fields,
        on_conflict=OnConflict.IGNORE,
    )
    return [tuple(row) for row in rows if row is not None]
