from django.urls import path

from tenants.portal.views import signup

urlpatterns = [path("signup/", signup, name="signup")]
