"""Organizations created before billing get the trial every new organization starts on (their
current calendar month, in their time zone), so the period-close beat sees them too."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import migrations
from django.utils import timezone

TRIAL_DAYS = 14


def _month(time_zone: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    try:
        tz = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    first = now.astimezone(tz).date().replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(following, dt.time(), tzinfo=tz),
    )


def subscribe(apps, schema_editor):
    Organization = apps.get_model("tenants", "Organization")
    Plan = apps.get_model("billing_stub", "Plan")
    Subscription = apps.get_model("billing_stub", "Subscription")
    free = Plan.objects.get(code="free")
    now = timezone.now()
    rows = []
    for organization in Organization.objects.exclude(schema_name="public").filter(
        subscription__isnull=True
    ):
        start, end = _month(organization.time_zone, now)
        rows.append(
            Subscription(
                organization=organization,
                plan=free,
                status="trialing",
                current_period_start=start,
                current_period_end=end,
                trial_ends_at=now + dt.timedelta(days=TRIAL_DAYS),
            )
        )
    Subscription.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("billing_stub", "0002_seed_plans")]

    operations = [migrations.RunPython(subscribe, migrations.RunPython.noop)]
