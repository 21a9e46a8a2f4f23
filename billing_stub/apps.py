from django.apps import AppConfig


class BillingStubConfig(AppConfig):
    name = "billing_stub"
    verbose_name = "Billing (stub)"
    default_auto_field = "django.db.models.BigAutoField"
