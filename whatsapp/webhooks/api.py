"""What Meta's account-level webhooks told an organization, on its own API (read only):

- `GET /api/v1/whatsapp/numbers/`: each connected number's health (`phone_number_quality_update`).
- `GET /api/v1/whatsapp/account-events/`: the latest `account_update` and
  `business_capability_update` changes about its WABAs.

Scoped to the host's organization (the request's tenant); rows of other organizations live in
the same public tables and are filtered out here, never shown.
https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from tenants.access import current_tenant
from tenants.models import AccountEvent, PhoneNumber

LATEST_ACCOUNT_EVENTS = 100


class NumberHealthSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhoneNumber
        fields = [
            "phone_number_id",
            "display_number",
            "waba_id",
            "quality_rating",
            "quality_event",
            "messaging_limit_tier",
            "health_updated_at",
        ]


class AccountEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountEvent
        fields = ["id", "field", "event", "waba_id", "value", "received_at"]


class _OwnRows(ListAPIView):
    pagination_class = None
    filter_backends: list = []

    def organization_id(self) -> int | None:
        tenant = current_tenant(self.request)
        return getattr(tenant, "pk", None)


@extend_schema(tags=["whatsapp account"])
class NumberHealthList(_OwnRows):
    """This organization's numbers with the quality rating and messaging-limit tier Meta last
    pushed (blank until Meta sends a `phone_number_quality_update`)."""

    serializer_class = NumberHealthSerializer

    def get_queryset(self) -> Any:
        return PhoneNumber.objects.filter(organization_id=self.organization_id()).order_by(
            "display_number", "pk"
        )


@extend_schema(tags=["whatsapp account"])
class AccountEventList(_OwnRows):
    """The latest 100 account-level changes Meta sent about this organization, newest first."""

    serializer_class = AccountEventSerializer

    def get_queryset(self) -> Any:
        return AccountEvent.objects.filter(organization_id=self.organization_id()).order_by(
            "-received_at", "-id"
        )[:LATEST_ACCOUNT_EVENTS]
