"""Settings for `manage.py lintmigrations` (django-migration-linter, run by `make lint`).

The linter reads each migration's SQL through `sqlmigrate`. django-tenants' router would drop
the tenant apps' operations from that SQL (the connection is on the public schema), so the
router is off here: every migration is linted as the SQL it runs in the schemas it targets.
Migrations that predate the check are the baseline (by app); each new one must be safe to run
while the previous release is serving: no table rewrite, no NOT NULL column without a database
default, no rename or drop of what running code still reads (README, "Deploying").
"""

from __future__ import annotations

from saas_platform.settings.base import *  # noqa: F403


class LintEveryOperationRouter:
    """Allows every migration operation (django-tenants insists its router stays listed)."""

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return True


INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]  # noqa: F405
DATABASE_ROUTERS = [
    "saas_platform.settings.lint.LintEveryOperationRouter",
    "django_tenants.routers.TenantSyncRouter",
]

# Migrations merged before the linter ran; never edit this list to let a new migration through
# (mark a reviewed exception in the migration itself with
# django_migration_linter.IgnoreMigration(), saying why).
MIGRATION_LINTER_BASELINE = {
    "tenants": [
        "0001_initial",
        "0002_api_key",
        "0003_phone_number_health",
        "0004_webhook_outbox",
    ],
    "whatsapp": [
        "0001_initial",
        "0002_outbound_failure_reason",
        "0003_pending_status",
        "0004_text_search_trigram_index",
        "0005_message_pricing",
        "0006_message_idempotency_key",
        "0007_inbound_edits_identity",
        "0008_outbound_states",
    ],
}
MIGRATION_LINTER_OPTIONS = {
    "include_apps": ["tenants", "whatsapp", "billing_stub", "webhooks"],
    "ignore_name": sorted({name for names in MIGRATION_LINTER_BASELINE.values() for name in names}),
    "no_cache": True,
}
