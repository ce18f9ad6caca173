"""Errors raised while configuring storage (never sent to API clients)."""

from __future__ import annotations


class StorageConfigError(ValueError):
    """The database URL or settings cannot be used. The message is one line, free of secrets."""
