#!/usr/bin/env python3
"""How long does onboarding an organization take: cloning the template schema vs migrating?

    .venv/bin/python benchmarks/schema_creation.py [--count 5]

Runs against the database of DATABASE_URL (the dev stack by default; `make services` starts it),
creates `--count` throwaway organizations each way, prints per-organization timings, then drops
them and their schemas.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from tenants.models import Organization
from tenants.services.onboarding import ensure_template_schema, organization_create

ADMIN = "admin@bench-schema.test"


def drop(slugs: list[str]) -> None:
    for organization in Organization.objects.filter(slug__in=slugs):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{organization.schema_name}" CASCADE')
        organization.delete(force_drop=False)
    get_user_model().objects.filter(username__endswith="@bench-schema.test").delete()


def measure(mode: str, count: int) -> list[float]:
    settings.TENANT_CREATION_FAKES_MIGRATIONS = mode == "clone"
    slugs = [f"bench-{mode}-{i}" for i in range(count)]
    drop(slugs)
    # One existing admin for all: password hashing (~0.3 s) would otherwise dominate the figure.
    get_user_model().objects.create_user(username=ADMIN, email=ADMIN, password="bench-pass-123")
    timings = []
    for slug in slugs:
        started = time.perf_counter()
        organization_create(slug=slug, name=slug, admin_email=ADMIN, admin_password="unused")
        timings.append(time.perf_counter() - started)
    drop(slugs)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5)
    count = parser.parse_args().count
    settings.TENANT_CREATION_FAKES_MIGRATIONS = True
    ensure_template_schema()
    print(f"Creating {count} organizations each way (schema + host + admin user)")
    print(f"{'mode':<22}{'median ms':>12}{'min ms':>10}{'max ms':>10}")
    for mode, label in (("migrate", "replay migrations"), ("clone", "clone template schema")):
        timings = [t * 1000 for t in measure(mode, count)]
        print(
            f"{label:<22}{statistics.median(timings):>12.0f}{min(timings):>10.0f}"
            f"{max(timings):>10.0f}"
        )


if __name__ == "__main__":
    main()
