"""h.js, one module served by both the trace viewer and the chat page: Chromium and a page
come from the viewer's fixtures (collector/tests/collector_tests/web/conftest.py)."""

from collector_tests.web.conftest import browser, page

__all__ = ["browser", "page"]
