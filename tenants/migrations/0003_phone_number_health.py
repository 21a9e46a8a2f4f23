# Number health pushed by Meta's phone_number_quality_update webhook (whatsapp.webhooks.fields).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_api_key'),
    ]

    operations = [
        migrations.AddField(
            model_name='phonenumber',
            name='health_updated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='messaging_limit_tier',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='quality_event',
            field=models.CharField(blank=True, db_default='', default='', max_length=32),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='quality_rating',
            field=models.CharField(blank=True, db_default='', default='', max_length=32),
        ),
    ]
