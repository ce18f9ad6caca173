"""The trace viewer served at /jaeger, and one-file HTML export of a trace."""

from onehub_collector.web.export import render_trace_html
from onehub_collector.web.routes import viewer_routes

__all__ = ["render_trace_html", "viewer_routes"]
