"""`/numbers/` paths on an organization's host (stable: the dashboard links here)."""

from django.urls import path

from whatsapp.numbers import views

urlpatterns = [
    path("numbers/", views.numbers_page, name="numbers"),
    path("numbers/connect/", views.connect_signup, name="numbers-connect"),
    path("numbers/manual/", views.connect_manual, name="numbers-manual"),
    path("numbers/onboarding/<int:onboarding_id>/", views.onboarding_page),
    path("numbers/onboarding/<int:onboarding_id>/resume/", views.onboarding_resume_view),
    path("numbers/<str:phone_number_id>/check/", views.check_now),
]
