"""Every log line says which tenant it was written in."""

from __future__ import annotations

import logging

from django.db import connection


class TenantContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant = getattr(connection, "schema_name", None) or "-"
        return True
