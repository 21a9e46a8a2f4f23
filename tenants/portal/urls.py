from django.urls import path

from tenants.portal.views import landing, signup

urlpatterns = [
    path("", landing, name="landing"),
    path("signup/", signup, name="signup"),
]
