"""Seed the three plans (staff edit them later; billing_stub.services.subscriptions)."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "price": Decimal("0.00"),
        "connected_numbers": 1,
        "members": 3,
        "contacts": 1000,
        "outbound_messages_per_month": 1000,
        "campaigns_per_month": 2,
        "api_requests_per_minute": 60,
    },
    {
        "code": "starter",
        "name": "Starter",
        "price": Decimal("49.00"),
        "connected_numbers": 3,
        "members": 10,
        "contacts": 10000,
        "outbound_messages_per_month": 10000,
        "campaigns_per_month": 20,
        "api_requests_per_minute": 300,
    },
    {
        "code": "pro",
        "name": "Pro",
        "price": Decimal("199.00"),
        "connected_numbers": 10,
        "members": 50,
        "contacts": 100000,
        "outbound_messages_per_month": 100000,
        "campaigns_per_month": None,
        "api_requests_per_minute": 1200,
        # Pro keeps sending past its monthly messages and pays for each one beyond.
        "overage_unit_price": Decimal("0.005"),
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing_stub", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults={**plan, "currency": "USD"})


def unseed(apps, schema_editor):
    apps.get_model("billing_stub", "Plan").objects.filter(
        code__in=[p["code"] for p in PLANS], subscriptions=None
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("billing_stub", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
