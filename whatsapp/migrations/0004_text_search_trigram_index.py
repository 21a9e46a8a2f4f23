"""A trigram index for the API's text search (`q`).

Django's `icontains` runs on PostgreSQL as `UPPER("text"::text) LIKE UPPER('%term%')`, which no
B-tree can serve; a GIN trigram index on that expression can. It is written in SQL because
Django renders `OpClass(Upper("text"))` without the parentheses PostgreSQL requires.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("whatsapp", "0003_pending_status"),
    ]

    operations = [
        # Extensions are per database: install it once, in public (on every tenant's search
        # path), never in whichever tenant schema happens to migrate first.
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            'CREATE INDEX IF NOT EXISTS msg_text_trgm_idx ON whatsapp_whatsappmessage '
            'USING gin ((UPPER("text"::text)) public.gin_trgm_ops)',
            reverse_sql="DROP INDEX IF EXISTS msg_text_trgm_idx",
        ),
        # Statistics for the new expression: without them the planner guesses a few hundred
        # matches for any term and picks the trigram scan even for common words (measured:
        # 0.3 ms with statistics, 270 ms without, on a million messages).
        migrations.RunSQL("ANALYZE whatsapp_whatsappmessage", reverse_sql=migrations.RunSQL.noop),
    ]
