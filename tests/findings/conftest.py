"""The real OneHub's traces in the collector's findings: the collector under test comes from the
collector's own fixtures (collector/tests/collector_tests/conftest.py)."""

from collector_tests.conftest import api, collector, otlp_http, send

__all__ = ["api", "collector", "otlp_http", "send"]
