"""The viewer in a real Chromium against the real collector, fed by the OpenTelemetry SDK over
OTLP/gRPC: search -> results -> a request's six-level tree -> span detail; a large trace; the
offline export; upload; live tail; the services page; deep links."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector_tests.web import jaeger_traces, otlp_feed
from collector_tests.web.otlp_feed import CollectorThread, OtlpFeed
from onehub_collector.web.assets import load_assets

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("viewer-browser")]

BIG_TRACE_SPANS = 1500
LIST_TOPICS_SPANS = 5 + otlp_feed.SELECT_REPEATS


@dataclass
class Seeded:
    url: str
    collector: CollectorThread
    feed: OtlpFeed
    list_topics_id: str
    error_trace_id: str
    big_trace_id: str
    onehub_trace_count: int
    stored_trace_count: int


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with CollectorThread(tmp_path_factory.mktemp("collector")) as collector:
        feed = OtlpFeed(collector.grpc_port)
        now = time.time_ns()
        minute = 60_000_000_000
        for minutes_ago in (20, 15, 10):
            otlp_feed.send_list_topics(feed, now - minutes_ago * minute)
        list_topics = otlp_feed.send_list_topics(feed, now - minute)
        failed = otlp_feed.send_failed_get_topic(feed, now - minute // 2)
        big = otlp_feed.send_wide_trace(feed, now - minute // 6, BIG_TRACE_SPANS)
        feed.flush()
        collector.flush()
        try:
            yield Seeded(
                collector.ui_url,
                collector,
                feed,
                list_topics,
                failed,
                big,
                onehub_trace_count=6,
                stored_trace_count=6,
            )
        finally:
            feed.shutdown()


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
    trace_id = viewer.list_topics_id
    page.goto(f"{viewer.url}/jaeger/search?service=onehub.backend&lookback=1h")
    results = page.locator(".result")
    results.first.wait_for()
    assert results.count() == viewer.onehub_trace_count
    assert page.locator(".scatter .dot").count() == viewer.onehub_trace_count
    assert page.locator("#search-service").input_value() == "onehub.backend"

    page.select_option("#results-sort", "spans")
    assert f"{BIG_TRACE_SPANS} spans" in results.first.inner_text()
    assert "sort=spans" in page.url

    page.locator(f'.result-link[href="/jaeger/trace/{trace_id}"]').click()
    page.wait_for_url(f"**/jaeger/trace/{trace_id}")
    rows = page.locator(".span-row")
    rows.first.wait_for()
    assert rows.count() == LIST_TOPICS_SPANS
    levels = {int(rows.nth(i).get_attribute("aria-level")) for i in range(rows.count())}
    assert levels == {1, 2, 3, 4, 5, 6}
    assert page.locator('[data-stat="depth"] dd').inner_text() == "6"
    assert page.locator('[data-stat="spans"] dd').inner_text() == str(LIST_TOPICS_SPANS)
    assert "on-critical-path" in (rows.first.get_attribute("class") or "")
    assert "N+1" in page.locator(".finding-badge").inner_text()

    _span_row(page, "SELECT topics").first.click()
    detail = page.locator(".span-detail")
    assert "db.query.text" in detail.inner_text()
    assert otlp_feed.QUERY_TEXT in detail.inner_text()
    assert "N+1" in detail.inner_text()
    assert "?span=" in page.url
    _screenshot(page, tmp_path, "trace-view.png")

    page.locator("#tab-logs").click()
    assert "five queries where one would do" in page.locator("#panel-logs").inner_text()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["data"][0]["traceID"] == trace_id

    page.go_back()
    page.wait_for_url("**/jaeger/search?service=onehub.backend*")
    results.first.wait_for()
    assert results.count() == viewer.onehub_trace_count


def test_a_large_trace_draws_only_the_rows_on_screen(page: Any, viewer: Seeded) -> None:
    started = time.monotonic()
    page.goto(f"{viewer.url}/jaeger/trace/{viewer.big_trace_id}")
    page.locator(".span-row").first.wait_for()
    # About 0.6 s here; the bound leaves room for a loaded CI machine.
    assert time.monotonic() - started < 5
    assert page.locator('[data-stat="spans"] dd').inner_text() == str(BIG_TRACE_SPANS)
    assert page.locator(".span-row").count() < 100

    tree = page.get_by_role("tree")
    tree.focus()
    tree.press("End")
    selected = page.locator('.span-row[aria-selected="true"]')
    assert selected.locator(".op").inner_text() == f"row {BIG_TRACE_SPANS - 1}"
    assert tree.get_attribute("aria-activedescendant") == selected.get_attribute("id")
    assert f"row {BIG_TRACE_SPANS - 1}" in page.locator(".span-detail h2").inner_text()

    page.get_by_role("button", name="Collapse all").click()
    assert page.locator(".span-row").count() == 1 + BIG_TRACE_SPANS // 50

    page.get_by_role("searchbox", name="Find spans").fill("row 777")
    page.get_by_role("status").filter(has_text="1 match").wait_for()
    assert page.locator('.span-row[aria-selected="true"] .op').inner_text() == "row 777"
    assert "highlighted" in (
        page.locator('.span-row[aria-selected="true"]').get_attribute("class") or ""
    )


def test_the_exported_file_opens_offline(page: Any, viewer: Seeded, tmp_path: Path) -> None:
    url = f"{viewer.url}/jaeger/api/x/traces/{viewer.list_topics_id}/export.html"
    response = httpx.get(url)
    assert response.status_code == 200
    exported = tmp_path / "trace.html"
    exported.write_bytes(response.content)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(exported.as_uri())
    rows = page.locator(".span-row")
    rows.first.wait_for()
    assert rows.count() == LIST_TOPICS_SPANS
    # The root span's attribute that tries to close the script element is shown as text.
    assert otlp_feed.BREAKOUT in page.locator(".span-detail").inner_text()
    _span_row(page, "SELECT topics").first.click()
    assert otlp_feed.QUERY_TEXT in page.locator(".span-detail").inner_text()
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
    page.locator(".live-state.on").wait_for()
    probe = otlp_feed.send_probe(viewer.feed, time.time_ns(), "live.probe")
    viewer.feed.flush()
    viewer.collector.flush()
    arrived = page.locator(f'.live-table a[href="/jaeger/trace/{probe}"]')
    arrived.wait_for()
    arrived.click()
    page.wait_for_url(f"**/jaeger/trace/{probe}")
    page.locator(".span-row").first.wait_for()

    page.get_by_role("link", name="Services").click()
    page.wait_for_url("**/jaeger/services")
    page.locator(".stats-table tbody tr").first.wait_for()
    table = page.locator(".stats-table").inner_text()
    assert "SELECT topics" in table
    assert "p95" in table
    graph = page.locator(".dep-graph")
    graph.wait_for()
    nodes = set(graph.locator(".dep-node text").all_text_contents())
    assert {"web.client", "onehub.backend"} <= nodes


def test_deep_links_with_filters_and_bad_values(page: Any, viewer: Seeded) -> None:
    page.goto(f'{viewer.url}/jaeger/search?service=onehub.backend&tags={{"error":"true"}}')
    results = page.locator(".result")
    results.first.wait_for()
    assert results.count() == 1
    assert page.locator(".result-link").get_attribute("href") == (
        f"/jaeger/trace/{viewer.error_trace_id}"
    )
    assert page.locator("#search-tags").input_value() == "error=true"

    page.goto(f"{viewer.url}/jaeger/trace/{'f' * 32}")
    alert = page.get_by_role("alert").filter(has_text="not found")
    alert.wait_for()
    assert "f" * 32 in alert.inner_text()

    page.goto(f"{viewer.url}/jaeger/search?service=onehub.backend&minDuration=soon")
    alert = page.get_by_role("alert").filter(has_text="minDuration")
    alert.wait_for()
    assert "250ms" in alert.inner_text()
    assert page.locator(".result").count() == 0


def test_a_search_without_results_says_so_and_nothing_else(page: Any, viewer: Seeded) -> None:
    page.goto(f'{viewer.url}/jaeger/search?service=onehub.backend&tags={{"error":"nope"}}')
    empty = page.get_by_text("No traces match")
    empty.wait_for()
    assert page.locator(".result").count() == 0
    assert page.locator("svg.scatter").count() == 0
    # Before: the missing chart was written out as the text "null" above the notice.
    assert "null" not in page.locator("section.results").inner_text()


# Spans as (id, parent id or None, start, end); ids double as operation names.
_MODEL_SCRIPT = """
async ([version, rows]) => {
  const model = await import(`/jaeger/static/${version}/js/model.js`);
  const spans = rows.map(([id, parent, start, end]) => ({
    traceID: "t1", spanID: id, operationName: id, startTime: start, duration: end - start,
    references: parent ? [{refType: "CHILD_OF", traceID: "t1", spanID: parent}] : [],
    tags: [], logs: [], processID: "p1",
  }));
  const processes = {p1: {serviceName: "s", tags: []}};
  const built = model.buildTrace({traceID: "t1", spans, processes});
  return {
    order: built.nodes.map((n) => `${n.id}@${n.depth}`),
    roots: built.roots.map((n) => n.id),
    depth: built.depth,
    critical: Object.fromEntries(model.criticalPath(built)),
  };
}
"""


def test_tree_and_critical_path_rules(page: Any, viewer: Seeded) -> None:
    page.goto(f"{viewer.url}/jaeger/live")
    rows = [
        ("root", None, 0, 100),
        ("a", "root", 10, 50),  # overlaps b, which finishes later: not on the path
        ("b", "root", 20, 90),
        ("b1", "b", 30, 60),
        ("orphan", "gone", 40, 45),  # its parent never arrived: drawn as another root
        ("x", "y", 1, 2),  # a reference cycle must not hang or drop spans
        ("y", "x", 1, 2),
    ]
    result = page.evaluate(_MODEL_SCRIPT, [load_assets().version, rows])
    assert result["critical"] == {
        "root": [[90, 100], [0, 20]],
        "b": [[60, 90], [20, 30]],
        "b1": [[30, 60]],
    }
    assert result["order"][:4] == ["root@1", "a@2", "b@2", "b1@3"]
    # One of the cycle's spans becomes a root, the other its child; which one is arbitrary.
    assert sorted(result["order"][4:]) in (
        ["orphan@1", "x@1", "y@2"],
        ["orphan@1", "x@2", "y@1"],
    )
    assert result["depth"] == 3
    assert "orphan" in result["roots"]
