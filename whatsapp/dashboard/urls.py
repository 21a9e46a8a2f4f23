from django.urls import path

from whatsapp.dashboard.views import dashboard

urlpatterns = [path("", dashboard, name="dashboard")]
