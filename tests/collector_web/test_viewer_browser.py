"""The viewer in a real Chromium: search -> results -> a trace's six-level tree -> span detail,
large traces, the offline export, upload, live tail and the services page."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onehub.collector.web import render_trace_html
from tests.collector_web import jaeger_traces
from tests.collector_web.conftest import ServerThread
from tests.collector_web.fake_backend import FakeStore, build_app

pytestmark = pytest.mark.browser

BIG_TRACE_SPANS = 1500


@dataclass
class Seeded:
    url: str
    list_topics: dict[str, Any]
    list_topics_logs: list[dict[str, Any]]
    error_trace: dict[str, Any]
    big_trace: dict[str, Any]
    onehub_trace_count: int
    stored_trace_count: int


@pytest.fixture(scope="module")
def viewer() -> Iterator[Seeded]:
    now = int(time.time() * 1e6)
    store = FakeStore()
    trace, logs = jaeger_traces.list_topics_trace(now - 60_000_000)
    selects = [s["spanID"] for s in trace["spans"] if s["operationName"] == "SELECT topics"]
    n_plus_one = {"kind": "n_plus_one", "spanIDs": selects, "message": "3 x SELECT topics"}
    store.add(trace, logs, [n_plus_one])
    error_trace, error_logs = jaeger_traces.get_topic_error_trace(now - 30_000_000)
    store.add(error_trace, error_logs)
    for minutes in (5, 10, 15):
        older, older_logs = jaeger_traces.list_topics_trace(now - minutes * 60_000_000)
        store.add(older, older_logs)
    big = jaeger_traces.wide_trace(now - 10_000_000, BIG_TRACE_SPANS)
    store.add(big)
    with ServerThread(build_app(store)) as url:
        yield Seeded(url, trace, logs, error_trace, big, onehub_trace_count=6, stored_trace_count=6)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; any script error or console error fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: Any) -> None:
        # A 404 from the trace endpoint is the answer the not-found test asks for.
        expected = "/jaeger/api/traces/" in message.location.get("url", "")
        if message.type == "error" and not expected:
            problems.append(f"console: {message.text}")

    new_page.on("console", on_console)
    new_page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    new_page.set_default_timeout(5_000)
    yield new_page
    context.close()
    assert problems == []


def _span_row(page: Any, operation: str) -> Any:
    return page.locator(".span-row", has=page.locator(".op", has_text=operation))


def _screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")
    # Set ONEHUB_SCREENSHOT_DIR to keep the pictures for a person to look at.
    if keep := os.environ.get("ONEHUB_SCREENSHOT_DIR"):
        shutil.copy(path, Path(keep) / name)


def test_search_then_open_a_trace_its_tree_and_span_detail(
    page: Any, viewer: Seeded, tmp_path: Path
) -> None:
    trace_id = viewer.list_topics["traceID"]
    page.goto(f"{viewer.url}/jaeger/search?service=onehub.backend&lookback=1h")
    results = page.locator(".result")
    results.first.wait_for()
    assert results.count() == viewer.onehub_trace_count
    assert page.locator(".scatter .dot").count() == viewer.onehub_trace_count
    assert page.locator("#search-service").input_value() == "onehub.backend"

    page.select_option("#results-sort", "spans")
    assert f"{BIG_TRACE_SPANS} spans" in results.first.inner_text()

    page.locator(f'.result-link[href="/jaeger/trace/{trace_id}"]').click()
    page.wait_for_url(f"**/jaeger/trace/{trace_id}")
    rows = page.locator(".span-row")
    rows.first.wait_for()
    assert rows.count() == len(viewer.list_topics["spans"])
    levels = {int(rows.nth(i).get_attribute("aria-level")) for i in range(rows.count())}
    assert levels == {1, 2, 3, 4, 5, 6}
    assert page.locator('[data-stat="depth"] dd').inner_text() == "6"
    assert page.locator('[data-stat="spans"] dd').inner_text() == "8"
    assert "on-critical-path" in (rows.first.get_attribute("class") or "")
    assert "N+1" in page.locator(".finding-badge").inner_text()

    select = _span_row(page, "SELECT topics").first
    select.click()
    detail = page.locator(".span-detail")
    assert "db.query.text" in detail.inner_text()
    assert jaeger_traces.QUERY_TEXT in detail.inner_text()
    assert "?span=" in page.url
    _screenshot(page, tmp_path, "trace-view.png")

    page.locator("#tab-logs").click()
    assert "three queries where one would do" in page.locator("#panel-logs").inner_text()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["data"][0]["traceID"] == trace_id

    page.go_back()
    page.wait_for_url("**/jaeger/search?service=onehub.backend*")
    results.first.wait_for()
    assert results.count() == viewer.onehub_trace_count


def test_a_large_trace_draws_only_the_rows_on_screen(page: Any, viewer: Seeded) -> None:
    trace_id = viewer.big_trace["traceID"]
    started = time.monotonic()
    page.goto(f"{viewer.url}/jaeger/trace/{trace_id}")
    page.locator(".span-row").first.wait_for()
    assert time.monotonic() - started < 3
    assert page.locator('[data-stat="spans"] dd').inner_text() == str(BIG_TRACE_SPANS)
    assert page.locator(".span-row").count() < 100

    tree = page.get_by_role("tree")
    tree.focus()
    tree.press("End")
    last = viewer.big_trace["spans"][-1]
    row = page.locator(f"#span-row-{last['spanID']}")
    row.wait_for()
    assert row.get_attribute("aria-selected") == "true"
    assert tree.get_attribute("aria-activedescendant") == f"span-row-{last['spanID']}"
    assert last["operationName"] in page.locator(".span-detail h2").inner_text()

    page.get_by_role("button", name="Collapse all").click()
    assert page.locator(".span-row").count() == 1 + BIG_TRACE_SPANS // 50


def test_the_exported_file_opens_offline(page: Any, viewer: Seeded, tmp_path: Path) -> None:
    trace = json.loads(json.dumps(viewer.list_topics))
    trace["spans"][0]["tags"].append(
        {"key": "note", "type": "string", "value": "</script><script>alert(1)</script>"}
    )
    exported = tmp_path / "trace.html"
    exported.write_text(render_trace_html(trace, viewer.list_topics_logs), encoding="utf-8")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(exported.as_uri())
    rows = page.locator(".span-row")
    rows.first.wait_for()
    assert rows.count() == len(trace["spans"])
    assert "</script><script>alert(1)</script>" in page.locator(".span-detail").inner_text()
    _span_row(page, "SELECT topics").first.click()
    assert jaeger_traces.QUERY_TEXT in page.locator(".span-detail").inner_text()
    assert page.locator("#tab-logs").inner_text() == "Logs (2)"
    assert requests == [exported.as_uri()]


def test_upload_live_tail_and_services(page: Any, viewer: Seeded, tmp_path: Path) -> None:
    foreign, _ = jaeger_traces.get_topic_error_trace(int(time.time() * 1e6))
    upload = tmp_path / "foreign.json"
    upload.write_text(json.dumps({"data": [foreign]}))
    page.goto(f"{viewer.url}/jaeger")
    page.set_input_files("#upload-input", str(upload))
    page.wait_for_url(f"**/jaeger/trace/{foreign['traceID']}")
    assert "Opened from foreign.json" in page.locator(".notice").inner_text()
    assert page.locator('[data-stat="errors"] dd').inner_text() == "1"
    assert "error" in (_span_row(page, "GetTopic").get_attribute("class") or "")

    page.get_by_role("link", name="Live").click()
    page.wait_for_url("**/jaeger/live")
    live_rows = page.locator(".live-table tbody tr")
    live_rows.first.wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll('.live-table tbody tr').length >= n",
        arg=viewer.stored_trace_count,
    )

    page.get_by_role("link", name="Services").click()
    page.wait_for_url("**/jaeger/services")
    page.locator(".stats-table tbody tr").first.wait_for()
    table = page.locator(".stats-table").inner_text()
    assert "SELECT topics" in table
    assert "p95" in table
    graph = page.locator(".dep-graph")
    graph.wait_for()
    assert {"web.client", "onehub.backend"} <= set(
        graph.locator(".dep-node text").all_text_contents()
    )


def test_bad_deep_links_explain_themselves(page: Any, viewer: Seeded) -> None:
    page.goto(f"{viewer.url}/jaeger/trace/{'f' * 32}")
    alert = page.get_by_role("alert").filter(has_text="not found")
    alert.wait_for()
    assert "f" * 32 in alert.inner_text()

    page.goto(f"{viewer.url}/jaeger/search?service=onehub.backend&minDuration=soon")
    alert = page.get_by_role("alert").filter(has_text="minDuration")
    alert.wait_for()
    assert "250ms" in alert.inner_text()
    assert page.locator(".result").count() == 0
