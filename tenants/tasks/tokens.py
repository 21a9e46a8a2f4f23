"""Placeholder until the module is built."""

__all__: list[str] = []
