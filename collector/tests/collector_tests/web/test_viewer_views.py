"""The views beyond the timeline, in a real Chromium against the real collector fed over
OTLP/gRPC by the OpenTelemetry SDK: trace compare (/trace/A...B), flame graph, span statistics,
the timeline's minimap zoom, the Monitor tab's charts, a custom search time range, and the
Services page with a single service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collector_tests.web import otlp_feed
from collector_tests.web.otlp_feed import CollectorThread, OtlpFeed
from collector_tests.web.test_viewer_browser import _screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("viewer-browser")]

MINUTE_NS = 60_000_000_000
SHOP = "shop.checkout"


@dataclass
class Seeded:
    url: str
    trace_a: str
    trace_b: str
    a_started_us: int
    b_started_us: int


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with CollectorThread(tmp_path_factory.mktemp("collector")) as collector:
        feed = OtlpFeed(collector.grpc_port)
        now = time.time_ns()
        a_start, b_start = now - 6 * MINUTE_NS, now - 2 * MINUTE_NS
        # A: five 1.6 ms SELECTs and a cache lookup; B: seven 2.4 ms SELECTs, no cache lookup.
        trace_a = otlp_feed.send_list_topics(feed, a_start, cache_lookup=True)
        trace_b = otlp_feed.send_list_topics(feed, b_start, selects=7, select_us=2_400)
        for minutes_ago, failed in ((9, False), (7, True), (4, False), (1, False)):
            otlp_feed.send_server_error(feed, now - minutes_ago * MINUTE_NS, SHOP, failed=failed)
        feed.flush()
        collector.flush()
        try:
            yield Seeded(collector.ui_url, trace_a, trace_b, a_start // 1000, b_start // 1000)
        finally:
            feed.shutdown()


def test_compare_two_traces_side_by_side(page: Any, seeded: Seeded, tmp_path: Path) -> None:
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}...{seeded.trace_b}")
    rows = page.locator(".compare-row")
    rows.first.wait_for()
    # Five spans on the path to the store, the cache lookup (A only), seven SELECTs.
    assert rows.count() == 13
    summary = page.locator(".compare-summary").inner_text()
    assert "2 spans added, 1 span removed, 10 spans slower, 0 spans faster" in summary
    removed = page.locator(".compare-row.cmp-removed")
    assert removed.count() == 1
    assert "cache.get topics" in removed.inner_text()
    assert "only in A" in removed.inner_text()
    added = page.locator(".compare-row.cmp-added")
    assert added.count() == 2
    assert added.first.locator(".compare-a").inner_text() == "—"
    assert added.first.locator(".compare-b .compare-duration").inner_text() == "2.40ms"
    first_select = page.locator(".compare-row.cmp-slower", has_text="SELECT topics").first
    assert first_select.locator(".compare-a .compare-duration").inner_text() == "1.60ms"
    assert first_select.locator(".compare-b .compare-duration").inner_text() == "2.40ms"
    assert first_select.locator(".compare-delta").inner_text() == "+800µs (+50%)"
    assert page.locator('.compare-a [data-stat="spans"] dd').inner_text() == "11"
    assert page.locator('.compare-b [data-stat="spans"] dd').inner_text() == "12"
    _screenshot(page, tmp_path, "compare.png")

    # From the search results: tick two, in the order A then B.
    page.goto(f"{seeded.url}/jaeger/search?service=onehub.backend&lookback=1h")
    page.locator(".result").first.wait_for()
    compare = page.locator("#compare-selected")
    assert compare.is_disabled()
    page.get_by_label(f"Select trace {seeded.trace_a[:8]} to compare").check()
    assert compare.is_disabled()
    page.get_by_label(f"Select trace {seeded.trace_b[:8]} to compare").check()
    compare.click()
    page.wait_for_url(f"**/jaeger/trace/{seeded.trace_a}...{seeded.trace_b}")
    page.locator(".compare-row").first.wait_for()
    assert page.locator(".compare-row.cmp-added").count() == 2

    # A trace that is not there is said so.
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}...{'f' * 32}")
    page.get_by_role("alert").filter(has_text=f"Trace {'f' * 32} was not found").wait_for()

    # From a trace, "Compare" with another id opens the same view.
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_b}")
    page.get_by_label("Compare with trace id").fill(seeded.trace_a)
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url(f"**/jaeger/trace/{seeded.trace_b}...{seeded.trace_a}")
    page.locator(".compare-row").first.wait_for()
    assert page.locator(".compare-row.cmp-removed").count() == 2  # A's extra SELECTs, seen from B


def test_flame_graph_and_span_statistics(page: Any, seeded: Seeded, tmp_path: Path) -> None:
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}")
    page.locator(".span-row").first.wait_for()
    page.get_by_role("button", name="Flame graph").click()
    boxes = page.locator(".flame-box")
    boxes.first.wait_for()
    assert boxes.count() == 11
    assert "view=flame" in page.url
    assert page.locator(".flame-box rect").count() == 11
    selects = page.locator('.flame-box[aria-label^="onehub.backend: SELECT topics, 1.60ms"]')
    assert selects.count() == 5
    assert "onehub.backend: SELECT" in (selects.first.locator("text").text_content() or "")
    _screenshot(page, tmp_path, "flame.png")
    # Clicking a box opens that span in the timeline.
    page.locator('.flame-box[aria-label^="onehub.backend: db.ListTopics"]').click()
    page.locator('.span-row[aria-selected="true"]').wait_for()
    assert page.locator('.span-row[aria-selected="true"] .op').inner_text() == "db.ListTopics"

    # A finding's badge, clicked in the flame graph, shows its spans in the timeline.
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}?view=flame")
    page.locator(".flame-box").first.wait_for()
    page.locator(".finding-badge", has_text="N+1").click()
    page.locator(".span-row.highlighted").first.wait_for()
    assert page.locator(".span-row.highlighted").count() == 5
    assert "view=flame" not in page.url

    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}?view=stats")
    table = page.locator(".span-stats-table")
    table.wait_for()

    def cells(operation: str) -> dict[str, str]:
        row = table.locator(f'tr[data-operation="{operation}"]')
        return {
            column: row.locator(f'td[data-col="{column}"]').inner_text()
            for column in ("count", "total", "avg", "min", "max", "selfTotal")
        }

    assert cells("SELECT topics") == {
        "count": "5",
        "total": "8.00ms",
        "avg": "1.60ms",
        "min": "1.60ms",
        "max": "1.60ms",
        "selfTotal": "8.00ms",
    }
    # The store's 9.4 ms, less the 8 ms its SELECTs cover.
    assert cells("db.ListTopics")["selfTotal"] == "1.40ms"
    assert cells("gateway GET /v1/topics")["selfTotal"] == "1.00ms"
    # Sorted by self total, largest first.
    assert table.locator("tbody tr").first.get_attribute("data-operation") == "SELECT topics"
    _screenshot(page, tmp_path, "statistics.png")


def test_minimap_drag_zooms_the_timeline(page: Any, seeded: Seeded, tmp_path: Path) -> None:
    page.goto(f"{seeded.url}/jaeger/trace/{seeded.trace_a}")
    page.locator(".span-row").first.wait_for()
    ticks = page.locator(".ruler .tick")
    assert ticks.first.inner_text() == "0µs"
    assert ticks.last.inner_text() == "12.0ms"
    area = page.locator(".minimap-area")
    assert page.locator(".minimap-spans rect").count() == 11
    box = area.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=4)
    page.mouse.up()
    # 50% to 75% of 12 ms: the ruler now runs from 6 ms to 9 ms.
    assert ticks.first.inner_text() == "6.00ms"
    assert ticks.last.inner_text() == "9.00ms"
    assert "Showing 6.00ms to 9.00ms" in page.locator(".minimap-label").inner_text()
    assert "zoomed" in (page.locator(".minimap").get_attribute("class") or "")
    # The gateway span starts before the window: its bar begins at the window's left edge.
    gateway_bar = page.locator(".span-row", has_text="gateway GET /v1/topics").locator(".span-bar")
    assert gateway_bar.evaluate("el => parseFloat(el.style.left)") == 0
    # The first SELECT ran before the window: a faint mark, no duration label.
    first_select = page.locator(".span-row", has_text="SELECT topics").first
    assert "outside-window" in (first_select.locator(".span-bar").get_attribute("class") or "")
    assert first_select.locator(".span-duration").count() == 0
    _screenshot(page, tmp_path, "minimap-zoom.png")
    page.get_by_role("button", name="Reset zoom").click()
    assert ticks.first.inner_text() == "0µs"
    assert ticks.last.inner_text() == "12.0ms"


def test_monitor_charts_per_service_and_operation(
    page: Any,
    seeded: Seeded,
    tmp_path: Path,
) -> None:
    page.goto(f"{seeded.url}/jaeger/monitor?lookback=15m")
    cards = page.locator(".monitor-card")
    cards.first.wait_for()
    assert page.locator('.nav-link[aria-current="page"]').inner_text() == "Monitor"
    shop = page.locator(f'.monitor-card[data-service="{SHOP}"]')
    totals = shop.locator(".monitor-totals").inner_text()
    assert "4 requests · 1 error (25.0%)" in totals
    assert "p50 2.00ms" in totals
    backend = page.locator('.monitor-card[data-service="onehub.backend"]')
    # Two traces, each with two SERVER spans in onehub.backend (gateway and gRPC server).
    assert "4 requests · 0 errors" in backend.locator(".monitor-totals").inner_text()
    for chart in ("request-rate", "error-rate", "latency"):
        figure = shop.locator(f'.chart[data-chart="{chart}"]')
        assert figure.locator("path.chart-line").count() >= 1
        assert (figure.locator("path.chart-line").first.get_attribute("d") or "").startswith("M ")
    latency = shop.locator('.chart[data-chart="latency"]')
    assert latency.locator("path.line-p50, path.line-p95, path.line-p99").count() == 3
    assert latency.locator(".chart-legend").inner_text().split() == [
        "p50",
        "2.00ms",
        "p95",
        "2.00ms",
        "p99",
        "2.00ms",
    ]
    # One point per bucket with requests (four lone points); the failed one's is at 100%.
    errors_path = shop.locator('.chart[data-chart="error-rate"] path.chart-line').get_attribute("d")
    assert errors_path is not None
    assert errors_path.count("M") + errors_path.count("L") == 4
    dots = shop.locator('.chart[data-chart="error-rate"] circle.chart-dot')
    assert dots.count() == 4
    assert sorted(float(d.get_attribute("cy") or 0) for d in dots.all())[0] == 10.0  # the top
    top = shop.locator('.chart[data-chart="error-rate"] .chart-grid').last.text_content() or ""
    assert "100.0%" in top
    _screenshot(page, tmp_path, "monitor.png")

    page.select_option("#monitor-service", SHOP)
    page.wait_for_url(f"**/jaeger/monitor?service={SHOP}&lookback=15m")
    operation = page.locator('.monitor-card[data-operation="POST /checkout"]')
    operation.wait_for()
    assert "4 requests" in operation.inner_text()
    assert page.locator(".monitor-card").count() == 2  # the service, and its one operation


# A microsecond timestamp as a datetime-local input's value, in the browser's time zone.
_LOCAL_INPUT = """(us) => {
  const d = new Date(us / 1000);
  const p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


def test_search_with_a_custom_time_range(page: Any, seeded: Seeded) -> None:
    # Jaeger's deep link form: lookback=custom with start and end in microseconds.
    start, end = seeded.a_started_us - 60_000_000, seeded.a_started_us + 60_000_000
    page.goto(
        f"{seeded.url}/jaeger/search?service=onehub.backend&lookback=custom&start={start}&end={end}"
    )
    results = page.locator(".result")
    results.first.wait_for()
    assert results.count() == 1
    assert page.locator(".result-link").get_attribute("href") == f"/jaeger/trace/{seeded.trace_a}"
    assert page.locator("#search-lookback").input_value() == "custom"
    assert page.locator("#search-start").is_visible()
    assert "found between" in page.get_by_role("status").first.inner_text()

    # The form: choose the range around B only, by hand.
    page.goto(f"{seeded.url}/jaeger/search?service=onehub.backend")
    assert not page.locator("#search-start").is_visible()
    page.select_option("#search-lookback", "custom")
    local = page.evaluate(_LOCAL_INPUT, seeded.b_started_us - 30_000_000)
    later = page.evaluate(_LOCAL_INPUT, seeded.b_started_us + 30_000_000)
    page.fill("#search-start", local)
    page.fill("#search-end", later)
    page.get_by_role("button", name="Find traces").click()
    page.wait_for_url("**lookback=custom**")
    results.first.wait_for()
    assert results.count() == 1
    assert page.locator(".result-link").get_attribute("href") == f"/jaeger/trace/{seeded.trace_b}"

    # An end before the start is refused in the page, before any search.
    page.select_option("#search-lookback", "custom")
    page.fill("#search-start", later)
    page.fill("#search-end", local)
    page.get_by_role("button", name="Find traces").click()
    page.get_by_role("alert").filter(has_text="must come after its start").wait_for()


def test_services_page_with_no_calls_between_services_prints_no_null(
    page: Any,
    seeded: Seeded,
) -> None:
    page.goto(f"{seeded.url}/jaeger/services")
    deps = page.locator("section.deps")
    deps.get_by_text("No calls between services in this window.").wait_for()
    assert "null" not in deps.inner_text()
    assert page.locator(".stats-table").is_visible()
