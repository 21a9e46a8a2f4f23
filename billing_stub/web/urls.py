"""Billing pages of an organization's web app (mounted at the host's root)."""

from django.urls import path

from billing_stub.web.views import usage_page

urlpatterns = [path("usage/", usage_page, name="usage")]
