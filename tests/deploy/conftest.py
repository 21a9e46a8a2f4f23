"""Facts about the code that the deploy files must agree with: the Celery queues declared in
settings, the management commands, the environment variables the settings read, and the roles
of the image's entrypoint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# Read by libraries, not by our settings: Django (which settings module), boto3 (S3 credentials).
READ_BY_LIBRARIES = {"DJANGO_SETTINGS_MODULE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def settings_env_names() -> set[str]:
    """Every environment variable platform/ reads (`env.x("NAME")`, `os.environ.get("NAME")`)."""
    names: set[str] = set()
    for module in (ROOT / "platform").rglob("*.py"):
        text = module.read_text()
        names |= set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"', text))
        names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\s*[\"']([A-Z][A-Z0-9_]+)", text))
    return names


def entrypoint_roles() -> set[str]:
    """The roles deploy/entrypoint.sh dispatches on (its `case` labels)."""
    text = (DEPLOY / "entrypoint.sh").read_text()
    return set(re.findall(r"^    ([a-z-]+)\)$", text, re.M))


@pytest.fixture(scope="session")
def declared_queues() -> set[str]:
    from saas_platform.settings import base

    return {queue.name for queue in base.CELERY_TASK_QUEUES}


@pytest.fixture(scope="session")
def management_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())
