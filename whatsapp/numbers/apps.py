from django.apps import AppConfig


class NumbersConfig(AppConfig):
    """Tenant app: each organization's onboarding runs and number check-ups live in its schema
    (they are its own data; the routing row, `tenants.PhoneNumber`, stays public)."""

    name = "whatsapp.numbers"
    label = "numbers"
    verbose_name = "WhatsApp numbers"
    default_auto_field = "django.db.models.BigAutoField"
