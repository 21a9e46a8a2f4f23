"""The chatbot's pages on the organization's host."""

from django.urls import path

from whatsapp.chatbot.web import settings_views, takeover, views

urlpatterns = [
    path("chatbot/", views.rules_page, name="chatbot-rules"),
    path("chatbot/rules/new/", views.rule_new, name="chatbot-rule-new"),
    path("chatbot/rules/reply-fields/", views.reply_fields, name="chatbot-reply-fields"),
    path("chatbot/rules/<int:rule_id>/", views.rule_edit, name="chatbot-rule-edit"),
    path("chatbot/rules/<int:rule_id>/delete/", views.rule_delete, name="chatbot-rule-delete"),
    path("chatbot/rules/<int:rule_id>/toggle/", views.rule_toggle, name="chatbot-rule-toggle"),
    path("chatbot/rules/<int:rule_id>/move/", views.rule_move, name="chatbot-rule-move"),
    path("chatbot/simulate/", views.simulate, name="chatbot-simulate"),
    path("chatbot/takeover/", takeover.takeover_card, name="chatbot-takeover"),
    path("chatbot/takeover/release/", takeover.takeover_release, name="chatbot-takeover-release"),
    path("chatbot/settings/", settings_views.settings_page, name="chatbot-settings"),
    path("chatbot/deliveries/", settings_views.deliveries_page, name="chatbot-deliveries"),
]
