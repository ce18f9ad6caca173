"""The chat web front end: a static single-page app over the REST API under /api/v1."""

from onehub.web.routes import web_routes

__all__ = ["web_routes"]
