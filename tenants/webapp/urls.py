"""Paths of the organization's web app on its host (stable: other features link here)."""

from __future__ import annotations

from django.urls import path

from tenants.webapp import views

urlpatterns = [
    path("login/", views.OrgLoginView.as_view(), name="org-login"),
    path("logout/", views.OrgLogoutView.as_view(), name="org-logout"),
    path("numbers/", views.placeholder, {"page": "numbers"}, name="numbers-placeholder"),
]
