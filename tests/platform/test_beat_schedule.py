"""The beat schedule (saas_platform.settings.base): defined once, every entry a registered task."""

from __future__ import annotations

import ast
from pathlib import Path

import saas_platform.settings.base as base_settings


def test_every_beat_entry_names_a_registered_task_with_a_positive_interval(settings):
    """Beat sends tasks by name; a stale dotted path would be dropped by the worker."""
    from saas_platform.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {"refresh-expiring-tokens", "whatsapp-outbound-sweep", "whatsapp-webhook-prune"} <= set(
        schedule
    )
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name
        assert float(entry["schedule"]) > 0, name


def test_the_beat_schedule_is_written_in_one_statement():
    """One literal, not a dict patched from several sections of the settings module."""
    tree = ast.parse(Path(base_settings.__file__).read_text())
    writes = [
        node
        for node in ast.walk(tree)
        for target in getattr(node, "targets", None) or [getattr(node, "target", None)]
        if target is not None and "CELERY_BEAT_SCHEDULE" in ast.unparse(target)
    ]
    assert len(writes) == 1
