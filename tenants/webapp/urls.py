"""Paths of the organization's web app on its host (stable: other features link here)."""

from __future__ import annotations

from django.urls import path

from tenants.webapp import settings_views as settings_
from tenants.webapp import views

urlpatterns = [
    path("login/", views.OrgLoginView.as_view(), name="org-login"),
    path("login/handoff/", views.login_handoff, name="org-login-handoff"),
    path("logout/", views.OrgLogoutView.as_view(), name="org-logout"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("settings/", settings_.settings_page, name="settings"),
    path("settings/members/<int:membership_id>/role/", settings_.member_role),
    path("settings/members/<int:membership_id>/remove/", settings_.member_remove),
    path("settings/invitations/", settings_.invitation_create),
    path("settings/invitations/<int:invitation_id>/revoke/", settings_.invitation_revoke),
    path("settings/api-keys/", settings_.api_key_new),
    path("settings/api-keys/<int:api_key_id>/revoke/", settings_.api_key_remove),
    path("settings/hours/", settings_.schedule_save),
]
