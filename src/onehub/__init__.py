"""OneHub: an observable group-messaging service."""

__version__ = "0.1.0"
