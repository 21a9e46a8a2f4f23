from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY: the webhook worker keeps writing changes while it builds.
    atomic = False

    dependencies = [
        ("tenants", "0008_organization_suspension"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="rawwebhookevent",
            index=models.Index(
                condition=models.Q(("state__in", ["malformed", "failed"])),
                fields=["state", "id"],
                name="webhook_event_unsplit_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="webhookchange",
            index=models.Index(fields=["organization", "-id"], name="webhook_change_org_recent_idx"),
        ),
    ]
