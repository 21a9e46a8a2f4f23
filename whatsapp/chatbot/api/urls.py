"""Chatbot endpoints of the per-organization API (under /api/v1/chatbot/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from whatsapp.chatbot.api import views

router = SimpleRouter()
router.register("chatbot/rules", views.RuleViewSet, basename="chatbot_rule")

urlpatterns = [
    path("chatbot/rules/reorder/", views.RuleReorderView.as_view(), name="chatbot_rule_reorder"),
    path("chatbot/settings/", views.SettingsView.as_view(), name="chatbot_settings"),
    path("chatbot/simulate/", views.SimulateView.as_view(), name="chatbot_simulate"),
    path("chatbot/takeover/release/", views.ReleaseView.as_view(), name="chatbot_release"),
    path("chatbot/deliveries/", views.DeliveryList.as_view(), name="chatbot_deliveries"),
    *router.urls,
]
