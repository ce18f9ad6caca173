// The Monitor tab, like Jaeger's Service Performance Monitoring: request rate, error rate and
// p50/p95/p99 latency over time, per service and, for one service, per operation. The
// collector computes the buckets from the SERVER spans it stores; the charts are plain SVG.

import { h, s } from "./h.js";
import { clear, formatDuration, formatRate, formatPercent, formatClock, plural, LOOKBACKS, lookbackMs } from "./util.js";
import { api } from "./api.js";

const CHART_W = 360;
const CHART_H = 120;
const CHART_PAD = { left: 52, right: 8, top: 10, bottom: 20 };
const MONITOR_LOOKBACKS = LOOKBACKS.filter(([name]) => ["5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "7d"].includes(name));

function scaleY(value, max) {
  const inner = CHART_H - CHART_PAD.top - CHART_PAD.bottom;
  return CHART_PAD.top + inner - (value / max) * inner;
}

/** A path through the non-null values; a null bucket breaks the line (no data, not zero). */
function linePath(values, max) {
  const inner = CHART_W - CHART_PAD.left - CHART_PAD.right;
  const step = values.length > 1 ? inner / (values.length - 1) : 0;
  let path = "";
  let pen = false;
  values.forEach((value, i) => {
    if (value === null || value === undefined) {
      pen = false;
      return;
    }
    const x = CHART_PAD.left + (values.length > 1 ? i * step : inner / 2);
    const y = scaleY(value, max);
    path += `${pen ? "L" : "M"} ${x.toFixed(1)} ${y.toFixed(1)} `;
    pen = true;
  });
  return path.trim();
}

/** Dots for the values with no neighbour to draw a line to, so a single bucket still shows. */
function loneDots(values, max, cls) {
  const inner = CHART_W - CHART_PAD.left - CHART_PAD.right;
  const step = values.length > 1 ? inner / (values.length - 1) : 0;
  const present = (i) => i >= 0 && i < values.length && values[i] !== null && values[i] !== undefined;
  return values
    .map((value, i) => (present(i) && !present(i - 1) && !present(i + 1) ? s("circle", { class: `chart-dot ${cls}`, cx: (CHART_PAD.left + (values.length > 1 ? i * step : inner / 2)).toFixed(1), cy: scaleY(value, max).toFixed(1), r: 2.5 }) : null))
    .filter(Boolean);
}

/**
 * One SVG chart. `lines` is [{name, values, cls}]; `format(v)` labels the axis; `bucketStarts`
 * (µs) label the time axis.
 */
function lineChart(title, lines, format, bucketStarts) {
  const all = lines.flatMap((line) => line.values.filter((v) => v !== null && v !== undefined));
  const max = Math.max(...all, 0) || 1;
  const grid = [0, 0.5, 1].map((f) => {
    const y = scaleY(max * f, max);
    return s(
      "g",
      { class: "chart-grid" },
      s("line", { x1: CHART_PAD.left, x2: CHART_W - CHART_PAD.right, y1: y, y2: y }),
      s("text", { x: CHART_PAD.left - 4, y: y + 4, "text-anchor": "end" }, format(max * f)),
    );
  });
  const first = bucketStarts[0];
  const last = bucketStarts[bucketStarts.length - 1];
  const axis = [
    s("text", { class: "chart-time", x: CHART_PAD.left, y: CHART_H - 4, "text-anchor": "start" }, formatClock(first).slice(0, 8)),
    s("text", { class: "chart-time", x: CHART_W - CHART_PAD.right, y: CHART_H - 4, "text-anchor": "end" }, formatClock(last).slice(0, 8)),
  ];
  const paths = lines.map((line) => s("path", { class: `chart-line ${line.cls}`, d: linePath(line.values, max) }, s("title", {}, line.name)));
  const dots = lines.flatMap((line) => loneDots(line.values, max, line.cls));
  const latest = (values) => {
    for (let i = values.length - 1; i >= 0; i -= 1) if (values[i] !== null && values[i] !== undefined) return values[i];
    return null;
  };
  return h(
    "figure",
    { class: "chart", dataset: { chart: title.toLowerCase().replace(/[^a-z]+/g, "-") } },
    h("figcaption", {}, title),
    s("svg", { viewBox: `0 0 ${CHART_W} ${CHART_H}`, class: "chart-svg", role: "img", "aria-label": `${title} over time` }, grid, axis, paths, dots),
    h(
      "ul",
      { class: "chart-legend" },
      lines.map((line) => {
        const value = latest(line.values);
        return h("li", { class: line.cls }, h("span", { class: "legend-swatch" }), `${line.name} `, h("span", { class: "legend-value" }, value === null ? "–" : format(value)));
      }),
    ),
  );
}

function seriesCard(series, bucketStarts, heading) {
  const buckets = series.buckets;
  const charts = [
    lineChart("Request rate", [{ name: "req/s", values: buckets.map((b) => b.ratePerSec), cls: "line-rate" }], formatRate, bucketStarts),
    lineChart("Error rate", [{ name: "errors", values: buckets.map((b) => (b.count ? b.errorRate : null)), cls: "line-errors" }], formatPercent, bucketStarts),
    lineChart(
      "Latency",
      [
        { name: "p50", values: buckets.map((b) => b.p50), cls: "line-p50" },
        { name: "p95", values: buckets.map((b) => b.p95), cls: "line-p95" },
        { name: "p99", values: buckets.map((b) => b.p99), cls: "line-p99" },
      ],
      formatDuration,
      bucketStarts,
    ),
  ];
  return h(
    "section",
    { class: "monitor-card", dataset: { service: series.service, operation: series.operation || "" } },
    h(
      "h2",
      {},
      heading,
      h(
        "span",
        { class: "monitor-totals" },
        ` ${plural(series.count, "request")} · ${plural(series.errorCount, "error")} (${formatPercent(series.errorRate)}) · p50 ${formatDuration(series.p50)} · p95 ${formatDuration(series.p95)} · p99 ${formatDuration(series.p99)}`,
      ),
    ),
    h("div", { class: "chart-row" }, charts),
  );
}

/** Render the monitor page for `params` (service, lookback) into `root`. */
export async function renderMonitorPage(root, { params, navigate, searchHref }) {
  const service = params.get("service") || "";
  const lookback = params.get("lookback") || "1h";
  const errorBox = h("div", { class: "error-box", role: "alert" });
  const serviceSelect = h("select", { id: "monitor-service" }, h("option", { value: "" }, "All services"));
  const lookbackSelect = h("select", { id: "monitor-lookback" }, MONITOR_LOOKBACKS.map(([name]) => h("option", { value: name, selected: name === lookback || undefined }, `Last ${name}`)));
  const apply = () => {
    const next = new URLSearchParams();
    if (serviceSelect.value) next.set("service", serviceSelect.value);
    next.set("lookback", lookbackSelect.value);
    navigate(`/monitor?${next}`);
  };
  serviceSelect.addEventListener("change", apply);
  lookbackSelect.addEventListener("change", apply);
  const body = h("div", { class: "monitor-body" }, h("p", { class: "muted", role: "status" }, "Loading…"));
  clear(root).append(
    h(
      "div",
      { class: "monitor-page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, "Monitor"),
        h("label", { for: "monitor-service" }, "Service "),
        serviceSelect,
        h("label", { for: "monitor-lookback" }, "Window "),
        lookbackSelect,
      ),
      h("p", { class: "muted" }, "Requests served (SERVER spans) per time bucket: how many, how many failed, and how long they took."),
      errorBox,
      body,
    ),
  );
  const [services, data] = await Promise.allSettled([api.services(), api.monitor(service, lookbackMs(lookback), Date.now())]);
  if (services.status === "fulfilled") {
    serviceSelect.append(...(services.value || []).slice().sort().map((name) => h("option", { value: name, selected: name === service || undefined }, name)));
  }
  errorBox.textContent = [services, data].filter((r) => r.status === "rejected").map((r) => r.reason.message).join("; ");
  if (data.status !== "fulfilled") {
    clear(body).append(h("p", { class: "muted" }, "Monitoring data is unavailable."));
    return;
  }
  const { series, bucketStarts, stepMs } = data.value;
  if (!series.length) {
    clear(body).append(h("p", { class: "muted" }, "No requests served in this window."));
    return;
  }
  const overall = series.filter((row) => row.operation === null);
  const operations = series.filter((row) => row.operation !== null).sort((x, y) => y.count - x.count);
  const step = h("p", { class: "muted monitor-step" }, `One point per ${formatDuration(stepMs * 1000)}.`);
  const cards = overall.map((row) => {
    const link = service ? row.service : h("a", { href: `?service=${encodeURIComponent(row.service)}&lookback=${lookback}`, class: "monitor-service-link" }, row.service);
    return seriesCard(row, bucketStarts, link);
  });
  const opCards = operations.map((row) => seriesCard(row, bucketStarts, h("a", { href: searchHref({ service: row.service, operation: row.operation, lookback }) }, row.operation)));
  clear(body).append(step, ...cards, operations.length ? h("h2", { class: "monitor-ops-title" }, "Operations") : "", ...opCards);
}
