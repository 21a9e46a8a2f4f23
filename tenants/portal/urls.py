from django.urls import path

from tenants.portal.views import export_download, signup

urlpatterns = [
    path("signup/", signup, name="signup"),
    path("offboarding/export/<str:token>/", export_download, name="offboarding-export"),
]
