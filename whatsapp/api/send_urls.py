"""Placeholder until the module is built."""

urlpatterns: list = []
