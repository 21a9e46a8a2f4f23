from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """The shared webhook gateway: a public-host app without models of its own (its tables,
    RawWebhookEvent and WebhookChange, live in `tenants`); it brings its admin and commands."""

    name = "whatsapp.webhooks"
    label = "webhooks"
    verbose_name = "WhatsApp webhooks"
