# The raw event table as the webhook queue (claim index, retries with next_attempt_at, no_handler),
# and AccountEvent for account_update / business_capability_update (whatsapp.webhooks).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0003_phone_number_health'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('change_id', models.BigIntegerField(unique=True)),
                ('field', models.CharField(max_length=64)),
                ('waba_id', models.CharField(blank=True, max_length=64)),
                ('event', models.CharField(blank=True, max_length=64)),
                ('value', models.JSONField(default=dict)),
                ('received_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-received_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='rawwebhookevent',
            name='attempts',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='rawwebhookevent',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhookchange',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='rawwebhookevent',
            name='state',
            field=models.CharField(choices=[('received', 'Received'), ('routed', 'Routed'), ('malformed', 'Malformed (kept, not processable)'), ('failed', 'Routing failed (kept for replay)')], default='received', max_length=16),
        ),
        migrations.AlterField(
            model_name='webhookchange',
            name='state',
            field=models.CharField(choices=[('pending', 'Pending'), ('processed', 'Processed'), ('failed', 'Failed (will retry)'), ('unroutable', 'Unroutable (no owner; replayable)'), ('held', 'Held (organization suspended)'), ('no_handler', 'No handler for this field (replayable)')], default='pending', max_length=16),
        ),
        migrations.AddIndex(
            model_name='rawwebhookevent',
            index=models.Index(condition=models.Q(('state', 'received')), fields=['id'], name='webhook_event_claim_idx'),
        ),
        migrations.AddIndex(
            model_name='webhookchange',
            index=models.Index(condition=models.Q(('state__in', ['pending', 'failed'])), fields=['next_attempt_at'], name='webhook_change_retry_idx'),
        ),
        migrations.AddField(
            model_name='accountevent',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='account_events', to='tenants.organization'),
        ),
    ]
