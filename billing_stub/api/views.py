"""`GET /api/v1/usage/` and `GET /api/v1/invoices/` of the host's organization (thin: the
billing selectors, serialized). The host picks the organization; both authentication classes
refuse another organization's credentials, so nothing here can show another's usage."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_stub import selectors
from billing_stub.api.serializers import InvoiceSerializer, UsageSerializer
from billing_stub.models import Invoice


def usage_body(summary: selectors.UsageSummary) -> dict[str, Any]:
    """The usage summary as the API (and the web page's chart) shows it."""
    return {
        "plan": summary.subscription.plan.code,
        "status": summary.subscription.status,
        "period_start": summary.period.start,
        "period_end": summary.period.end,
        "time_zone": summary.organization.time_zone,
        "limits": [
            {
                "limit": usage.limit,
                "used": usage.used,
                "allowed": usage.allowed,
                "resets_at": usage.resets_at,
            }
            for usage in summary.limits
        ],
        "meta_currency": summary.meta_currency,
        "meta_cost_total": summary.meta_total,
        "meta_by_category": [
            {"category": category, **values}
            for category, values in summary.meta_by_category.items()
        ],
        "daily": [
            {
                "day": day,
                **{metric: summary.series[metric][i] for metric in summary.series},
            }
            for i, day in enumerate(summary.days)
        ],
    }


@extend_schema(tags=["billing"])
class UsageView(APIView):
    """The current period: each plan limit used/allowed, Meta's estimated charges by pricing
    category, and a daily series (the organization's local days)."""

    @extend_schema(responses=UsageSerializer)
    def get(self, request: Request) -> Response:
        summary = selectors.usage_summary(organization=request.tenant)
        return Response(UsageSerializer(usage_body(summary)).data)


@extend_schema(tags=["billing"])
class InvoiceList(ListAPIView):
    """The organization's invoices, newest period first, with their line items."""

    serializer_class = InvoiceSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no tenant
            return Invoice.objects.none()
        return selectors.invoice_list(organization=self.request.tenant)
