"""Placeholder until the shared webhook is built."""

urlpatterns: list = []
