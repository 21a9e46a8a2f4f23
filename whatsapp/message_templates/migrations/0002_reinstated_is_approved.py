"""Templates stored with Meta's REINSTATED event as their status are APPROVED (sendable): the
status webhook stores them so from now on (whatsapp.message_templates.services.common)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("message_templates", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "UPDATE message_templates_messagetemplate SET status = 'APPROVED' "
            "WHERE status = 'REINSTATED'",
            migrations.RunSQL.noop,
        )
    ]
