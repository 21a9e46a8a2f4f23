from django.apps import AppConfig


class ChatbotConfig(AppConfig):
    name = "whatsapp.chatbot"
    label = "chatbot"
    verbose_name = "Chatbot auto-replies"
    default_auto_field = "django.db.models.BigAutoField"
