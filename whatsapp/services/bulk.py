"""Set-based INSERTs for the webhook's batch apply: one statement and one parameter for many rows.

Django's `bulk_create(ignore_conflicts=True)` cannot tell which rows it inserted; the inbound
batch needs exactly that (a redelivered wamid is a duplicate, not an error). `insert_ignore`
sends the rows as ONE JSON document and lets PostgreSQL unpack it:

    INSERT INTO t (a, b, ...) SELECT a, b, ... FROM jsonb_to_recordset(%s::jsonb) AS r(a type, ...)
    ON CONFLICT DO NOTHING RETURNING <fields>

One `json.dumps` of the batch replaces Django adapting every column of every row (and psycopg
quoting every array element): measured with benchmarks/webhook_ingest.py, the worker's CPU per
message about halved. Field defaults and `auto_now(_add)` come from the model (`pre_save`);
a value PostgreSQL refuses raises, as for any INSERT (the caller falls back to item by item).
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connection, models

# Character columns are unpacked as text: a value too long must fail on the INSERT (as it
# would for a plain INSERT), not be cut silently by a cast to varchar(n).
_UNPACK_AS_TEXT = (models.CharField, models.TextField)


def _unpack_type(field: models.Field) -> str:
    if isinstance(field, _UNPACK_AS_TEXT):
        return "text"
    if isinstance(field, models.ForeignKey):
        return field.target_field.rel_db_type(connection)
    return field.db_type(connection)


_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
    models.JSONField,
)


def _row_maker(
    fields: Sequence[models.Field], *, keep_given_auto: bool
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A function values -> {column: JSON value}, `values` mapping attnames to values (an
    instance's `__dict__`, or a plain row with names turned into attnames).

    A value given for a plain column goes as it is, any other through the field's own
    preparation. A field missing from `values` takes its default as `Field.get_default` gives
    it (a callable default such as `uuid.uuid4` is called per row; "" for a text column
    without one, Django's rule). `auto_now(_add)` fields take one `now` for the whole batch:
    always, as `Model.save` does, unless `keep_given_auto`, when a value given wins.
    """
    now = datetime.datetime.now(datetime.UTC).isoformat()
    plan: list[tuple[str, str, bool, Callable[[Any], Any] | None, Callable[[], Any]]] = []
    for f in fields:
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        if auto:
            fill: Callable[[], Any] = lambda now=now: now  # noqa: E731 - one time per batch
        elif f.has_default() and callable(f.default):
            fill = lambda f=f: _to_json(f.get_prep_value(f.get_default()))  # noqa: E731
        else:  # a constant default, or NULL
            constant = _to_json(f.get_prep_value(f.get_default()))
            fill = lambda constant=constant: constant  # noqa: E731
        plain = isinstance(f, _PLAIN) and not isinstance(f, models.UUIDField)
        given = keep_given_auto or not auto
        plan.append((f.column, f.attname, given, None if plain else f.get_prep_value, fill))

    def make(values: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column, attname, given, prep, fill in plan:
            if given and attname in values:
                value = values[attname]
                row[column] = _to_json(value if prep is None else prep(value))
            else:
                row[column] = fill()
        return row

    return make


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def _insert_json(
    model: type[models.Model],
    fields: Sequence[models.Field],
    rows: list[dict[str, Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """One INSERT ... SELECT FROM jsonb_to_recordset(...) ON CONFLICT DO NOTHING RETURNING."""
    opts = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    record = ", ".join(f"{quote(f.column)} {_unpack_type(f)}" for f in fields)
    returned = ", ".join(quote(opts.get_field(name).column) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(opts.db_table)} ({columns}) "  # noqa: S608 - model metadata
            f"SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({record}) "
            f"ON CONFLICT DO NOTHING RETURNING {returned}",
            [json.dumps(rows, separators=(",", ":"))],
        )
        return [tuple(row) for row in cursor.fetchall()]


def insert_ignore(
    model: type[models.Model], objs: Sequence[models.Model], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert `objs` (unsaved instances of `model`) in one statement, skipping every row that
    conflicts with a unique constraint; returns the `returning` columns of the inserted rows
    only (in no promised order). Raises what the database raises for any other error."""
    if not objs:
        return []
    opts = model._meta
    # Nullable columns that are None in every row are left to the database (NULL).
    fields = [
        f
        for f in opts.concrete_fields
        if not f.generated
        and f is not opts.pk
        and not (f.null and all(getattr(obj, f.attname) is None for obj in objs))
    ]
    # An unsaved instance holds every concrete field's value under its attname.
    make = _row_maker(fields, keep_given_auto=False)
    return _insert_json(model, fields, [make(vars(obj)) for obj in objs], returning)


def insert_rows_ignore(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """`insert_ignore` for plain rows: each a mapping of field name (or attname, e.g.
    `contact_id`) to a value, without building model instances (Django's `Model.__init__`
    costs more than the INSERT for wide models). A field missing from a row takes the model's
    default as `Field.get_default` gives it (a callable default such as `uuid.uuid4` is called
    per row; "" for a text column without a default), `auto_now(_add)` the batch's time.
    Values are what the field stores: JSON-serialisable, or dates, UUIDs and Decimals.
    Raises KeyError for a key that is no field of `model`, and what the database raises for a
    value it refuses."""
    if not rows:
        return []
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.pk]
    known = {f.name for f in fields} | {f.attname for f in fields}
    for row in rows:
        unknown = row.keys() - known
        if unknown:
            raise KeyError(f"not fields of {opts.label}: {sorted(unknown)}")
    make = _row_maker(fields, keep_given_auto=True)
    # Keys named after a field whose attname differs (a foreign key: `contact` for
    # `contact_id`) become the attname; a model instance given there stands for its pk.
    renamed = [(f.name, f.attname) for f in fields if f.name != f.attname]

    def values(row: Mapping[str, Any]) -> Mapping[str, Any]:
        if not any(name in row for name, _ in renamed):
            return row
        out = dict(row)
        for name, attname in renamed:
            if name in out:
                value = out.pop(name)
                if attname not in out:
                    out[attname] = value.pk if isinstance(value, models.Model) else value
        return out

    return _insert_json(model, fields, [make(values(row)) for row in rows], returning)
