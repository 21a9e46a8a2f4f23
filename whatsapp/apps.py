from django.apps import AppConfig


class WhatsAppConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from whatsapp import signals  # noqa: F401  (connects the send-on-create signal)
