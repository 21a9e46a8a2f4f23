"""The chatbot's pages on the organization's host."""

from django.urls import path

from whatsapp.chatbot.web import views

urlpatterns = [
    path("chatbot/", views.rules_page, name="chatbot-rules"),
    path("chatbot/rules/<int:rule_id>/delete/", views.rule_delete, name="chatbot-rule-delete"),
    path("chatbot/simulate/", views.simulate, name="chatbot-simulate"),
]
