"""Placeholders for navigation pages whose feature has not landed (inbox, contacts, numbers).

Included LAST by the tenant URL conf: a feature that routes one of these paths earlier in that
list wins, and its placeholder here can then be deleted.
"""

from __future__ import annotations

from django.urls import path

from tenants.webapp import views

urlpatterns = [
    path("inbox/", views.placeholder, {"page": "inbox"}, name="inbox-placeholder"),
    path("contacts/", views.placeholder, {"page": "contacts"}, name="contacts-placeholder"),
    path("numbers/", views.placeholder, {"page": "numbers"}, name="numbers-placeholder"),
]
