from django.apps import AppConfig


class MessageTemplatesConfig(AppConfig):
    name = "whatsapp.message_templates"
    label = "message_templates"
    verbose_name = "WhatsApp message templates"
    default_auto_field = "django.db.models.BigAutoField"
