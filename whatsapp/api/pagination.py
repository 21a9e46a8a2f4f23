"""Keyset (cursor) pagination: every page costs the same, however deep.

A page is `ORDER BY <key> DESC, id DESC LIMIT n+1` after `WHERE ROW(<key>, id) < ROW(<cursor>)`,
which PostgreSQL answers from the matching composite index (`msg_timestamp_idx`, the direction
and contact indexes, `contact_last_seen_idx`) without counting or skipping rows. DRF's own
CursorPagination compares only the first field and walks an offset through ties; a row
comparison on (key, id) needs neither.

Views declare `ordering_options` (public name -> ordering fields, the last one unique) and
`default_ordering`. The cursor is opaque to clients: base64 of the ordering it was made for,
the position of the row it continues from, and the direction.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class InvalidQueryParameter(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"
    default_detail = "Invalid query parameter."


@dataclass(frozen=True)
class Cursor:
    ordering: str
    position: tuple[Any, ...]
    reverse: bool


def _row(*expressions: Any) -> Func:
    # ROW(a, b) < ROW(x, y) is PostgreSQL's row-constructor comparison, which a btree index on
    # (a, b) answers as a single range scan.
    return Func(*expressions, function="ROW", output_field=models.Field())


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"
    page_size = 50
    max_page_size = 200

    # --- request parsing -------------------------------------------------------------------
    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise InvalidQueryParameter(
                f"page_size must be an integer from 1 to {self.max_page_size}."
            )
        return int(raw)

    def _ordering(self, request: Request, view: Any) -> str:
        name = request.query_params.get(self.ordering_query_param) or view.default_ordering
        if name not in view.ordering_options:
            choices = ", ".join(view.ordering_options)
            raise InvalidQueryParameter(f"ordering must be one of: {choices}.")
        return name

    def _decode(self, raw: str, fields: Sequence[str], model: type[models.Model]) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=="))
            values = data["p"]
            if not isinstance(values, list) or len(values) != len(fields):
                raise ValueError("position length")
            position = tuple(
                None if value is None else model._meta.get_field(name.lstrip("-")).to_python(value)
                for name, value in zip(fields, values, strict=True)
            )
            if position[-1] is None:  # the unique tie-breaker is never null
                raise ValueError("null id")
            return Cursor(ordering=str(data["o"]), position=position, reverse=bool(data["r"]))
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            binascii.Error,
            ValidationError,
        ) as exc:
            raise InvalidQueryParameter("Invalid cursor.", code="invalid_cursor") from exc

    @staticmethod
    def _encode(cursor: Cursor) -> str:
        values = [v.isoformat() if hasattr(v, "isoformat") else v for v in cursor.position]
        payload = json.dumps({"o": cursor.ordering, "p": values, "r": int(cursor.reverse)})
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    # --- the keyset condition --------------------------------------------------------------
    @staticmethod
    def _after(fields: Sequence[str], position: tuple[Any, ...]) -> Q | Any:
        """Rows strictly after `position` in the order given by `fields` (same direction)."""
        descending = fields[0].startswith("-")
        names = [f.lstrip("-") for f in fields]
        compare = LessThan if descending else GreaterThan
        if len(names) == 1:
            return Q(**{f"{names[0]}__{'lt' if descending else 'gt'}": position[0]})
        key, tie = names[0], names[-1]
        # PostgreSQL sorts NULLs first in DESC and last in ASC order: a nullable key (a
        # contact's last_seen) needs the NULL block handled around the row comparison.
        nulls_first = descending
        if position[0] is None:
            in_null_block = Q(
                **{f"{key}__isnull": True, f"{tie}__{'lt' if descending else 'gt'}": position[-1]}
            )
            return in_null_block | Q(**{f"{key}__isnull": False}) if nulls_first else in_null_block
        after = compare(_row(*(F(n) for n in names)), _row(*(Value(v) for v in position)))
        return after | Q(**{f"{key}__isnull": True}) if not nulls_first else after

    # --- DRF API -------------------------------------------------------------------------
    def paginate_queryset(
        self, queryset: models.QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.view = view
        size = self._page_size(request)
        ordering = self._ordering(request, view)
        fields = view.ordering_options[ordering]
        raw_cursor = request.query_params.get(self.cursor_query_param)
        cursor = self._decode(raw_cursor, fields, queryset.model) if raw_cursor else None
        if cursor is not None and cursor.ordering != ordering:
            raise InvalidQueryParameter(
                "This cursor was made for another ordering.", code="invalid_cursor"
            )
        reverse = bool(cursor and cursor.reverse)
        effective = [self._flip(f) for f in fields] if reverse else list(fields)
        queryset = queryset.order_by(*effective)
        if cursor is not None:
            queryset = queryset.filter(self._after(effective, cursor.position))
        rows = list(queryset[: size + 1])
        has_more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()

        def position(row: Any) -> tuple[Any, ...]:
            return tuple(getattr(row, f.lstrip("-")) for f in fields)

        self.next_cursor = self.previous_cursor = None
        if rows:
            if has_more or reverse:
                self.next_cursor = Cursor(ordering, position(rows[-1]), reverse=False)
            if (reverse and has_more) or (not reverse and cursor is not None):
                self.previous_cursor = Cursor(ordering, position(rows[0]), reverse=True)
        return rows

    @staticmethod
    def _flip(field: str) -> str:
        return field[1:] if field.startswith("-") else f"-{field}"

    def _link(self, cursor: Cursor | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self._encode(cursor))

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "next": self._link(self.next_cursor),
                "previous": self._link(self.previous_cursor),
                "results": data,
            }
        )

    def first_page_link(self) -> str:
        return remove_query_param(self.base_url, self.cursor_query_param)

    # --- OpenAPI -------------------------------------------------------------------------
    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Opaque cursor from a previous response's `next` or `previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Results per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": self.ordering_query_param,
                "in": "query",
                "required": False,
                "description": f"Sort order (default `{view.default_ordering}`).",
                "schema": {"type": "string", "enum": list(view.ordering_options)},
            },
        ]
