"""Billing endpoints of the per-organization API (mounted under /api/v1/)."""

from django.urls import path

from billing_stub.api.views import InvoiceList, UsageView

urlpatterns = [
    path("usage/", UsageView.as_view(), name="api_usage"),
    path("invoices/", InvoiceList.as_view(), name="api_invoice_list"),
]
