"""Chatbot API (under /api/v1/chatbot/): rules (CRUD + reorder), settings, simulate, takeover
release, external bot deliveries. Thin: serializer -> one service -> serializer. Each request
runs in the host organization's schema, so only its rows are reachable."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.permissions import IsOrgAdmin
from whatsapp.api.pagination import KeysetPagination
from whatsapp.chatbot.api import serializers as s
from whatsapp.chatbot.models import ChatbotRule, ExternalBotDelivery
from whatsapp.chatbot.services import (
    chatbot_simulate,
    conversation_release,
    rules_reorder,
    settings_get,
    settings_update,
)
from whatsapp.models import Contact


@extend_schema(tags=["chatbot"])
class RuleViewSet(viewsets.ModelViewSet):
    """Rules in evaluation order (`priority`, then id)."""

    serializer_class = s.ChatbotRuleSerializer
    pagination_class = None
    queryset = ChatbotRule.objects.order_by("priority", "id")


@extend_schema(
    tags=["chatbot"], request=s.RuleOrderSerializer, responses=s.ChatbotRuleSerializer(many=True)
)
class RuleReorderView(APIView):
    """Give the listed rules priorities 10, 20, ... in that order (others keep theirs)."""

    def post(self, request: Request) -> Response:
        serializer = s.RuleOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rules = rules_reorder(ids=serializer.validated_data["ids"])
        return Response(s.ChatbotRuleSerializer(rules, many=True).data)


class SettingsView(APIView):
    """Read by any member; changed by an organization admin."""

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsAuthenticated()]
        return [IsAuthenticated(), IsOrgAdmin()]

    @extend_schema(tags=["chatbot"], responses=s.ChatbotSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(s.ChatbotSettingsSerializer(settings_get()).data)

    @extend_schema(
        tags=["chatbot"], request=s.ChatbotSettingsSerializer, responses=s.ChatbotSettingsSerializer
    )
    def patch(self, request: Request) -> Response:
        settings = settings_get()
        serializer = s.ChatbotSettingsSerializer(settings, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        settings_update(settings=settings, data=serializer.validated_data)
        return Response(s.ChatbotSettingsSerializer(settings).data)

    @extend_schema(
        tags=["chatbot"], request=s.ChatbotSettingsSerializer, responses=s.ChatbotSettingsSerializer
    )
    def put(self, request: Request) -> Response:
        return self.patch(request)


class SimulateView(APIView):
    @extend_schema(tags=["chatbot"], request=s.SimulateSerializer, responses=s.SimulationSerializer)
    def post(self, request: Request) -> Response:
        """What the bot would do with this message (from this contact, if given): nothing is
        stored or sent."""
        serializer = s.SimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = None
        if data.get("contact_id") is not None:
            contact = get_object_or_404(Contact.objects.all(), pk=data["contact_id"])
        decision = chatbot_simulate(
            text=data["text"],
            message_type=data["type"],
            interactive_id=data["interactive_id"],
            contact=contact,
            phone_number_id=data["phone_number_id"],
            now=timezone.now(),
        )
        body = {
            "action": decision.action,
            "replies": [{"type": r.type, "content": r.content} for r in decision.replies],
            "rule_id": decision.rule_id,
            "step": decision.step,
            "takeover": decision.takeover,
            "opt_out": decision.opt_out,
            "call_external_bot": decision.call_external_bot,
            "notices": list(decision.notices),
            "detail": decision.detail,
        }
        return Response(s.SimulationSerializer(body).data)


class ReleaseView(APIView):
    @extend_schema(tags=["chatbot"], request=s.ReleaseSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        """A member hands a contact's conversation back to the bot (ends the takeover)."""
        serializer = s.ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = get_object_or_404(
            Contact.objects.all(), pk=serializer.validated_data["contact_id"]
        )
        conversation_release(
            contact=contact, phone_number_id=serializer.validated_data["phone_number_id"] or None
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["chatbot"])
class DeliveryList(generics.ListAPIView):
    """The external bot's delivery log, newest first."""

    serializer_class = s.ExternalBotDeliverySerializer
    pagination_class = KeysetPagination
    ordering_options = {"-id": ("-id",), "id": ("id",)}
    default_ordering = "-id"
    queryset = ExternalBotDelivery.objects.select_related("turn")
