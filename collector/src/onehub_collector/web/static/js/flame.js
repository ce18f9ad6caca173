// Two more views of one trace: the flame graph (each span a box under its parent, as wide as it
// lasted, placed where it ran) and the span statistics (per service and operation: how many,
// how long in total and on average, the extremes, and the self time no child accounts for).

import { h, s } from "./h.js";
import { clear, formatDuration } from "./util.js";

const FLAME_ROW = 22;
const FLAME_WIDTH = 1200;
const FLAME_CHAR_PX = 6.6;

/** Microseconds of `node` that none of its children covers (children clipped to the span). */
export function selfTime(node) {
  const pieces = node.children
    .map((child) => [Math.max(child.start, node.start), Math.min(child.end, node.end)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let reach = node.start;
  for (const [a, b] of pieces) {
    if (b <= reach) continue;
    covered += b - Math.max(a, reach);
    reach = b;
  }
  return Math.max(0, node.duration - covered);
}

/** One row per service and operation: count, total, avg, min, max and self total (µs). */
export function spanStatistics(model) {
  const groups = new Map();
  for (const node of model.nodes) {
    const key = `${node.service}\u0000${node.span.operationName}`;
    if (!groups.has(key)) {
      groups.set(key, { service: node.service, operation: node.span.operationName, count: 0, total: 0, min: Infinity, max: 0, selfTotal: 0 });
    }
    const row = groups.get(key);
    row.count += 1;
    row.total += node.duration;
    row.min = Math.min(row.min, node.duration);
    row.max = Math.max(row.max, node.duration);
    row.selfTotal += selfTime(node);
  }
  return [...groups.values()].map((row) => ({ ...row, avg: row.total / row.count }));
}

/** The flame graph of `model` as SVG; `onSelect(id)` runs when a box is clicked. */
export function renderFlameGraph(model, { onSelect }) {
  const total = Math.max(model.duration, 1);
  const height = model.depth * FLAME_ROW + 4;
  const boxes = model.nodes.map((node) => {
    const x = ((node.start - model.start) / total) * FLAME_WIDTH;
    const width = Math.max(1, (node.duration / total) * FLAME_WIDTH);
    const name = `${node.service}: ${node.span.operationName}`;
    const room = Math.floor((width - 6) / FLAME_CHAR_PX);
    const text = room >= 4 ? (name.length > room ? `${name.slice(0, room - 1)}…` : name) : "";
    return s(
      "g",
      {
        class: `flame-box${node.isError ? " is-error" : ""}`,
        transform: `translate(${x.toFixed(2)} ${(node.depth - 1) * FLAME_ROW})`,
        dataset: { spanId: node.id },
        tabindex: "0",
        role: "button",
        "aria-label": `${name}, ${formatDuration(node.duration)}`,
      },
      s("title", {}, `${name}\n${formatDuration(node.duration)} (self ${formatDuration(selfTime(node))})`),
      s("rect", { width: width.toFixed(2), height: FLAME_ROW - 2, rx: 2, fill: node.colour }),
      text ? s("text", { x: 4, y: FLAME_ROW / 2 + 4 }, text) : null,
    );
  });
  const svg = s(
    "svg",
    { class: "flame-graph", viewBox: `0 0 ${FLAME_WIDTH} ${height}`, width: "100%", role: "group", "aria-label": `Flame graph of ${model.nodes.length} spans` },
    boxes,
  );
  const pick = (event) => {
    const box = event.target.closest(".flame-box");
    if (box) onSelect(box.dataset.spanId);
  };
  svg.addEventListener("click", pick);
  svg.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pick(event);
    }
  });
  return h(
    "section",
    { class: "flame-view", "aria-label": "Flame graph" },
    h("p", { class: "muted" }, "Each box is a span under its parent, as wide as it lasted. Click a box to open it in the timeline."),
    h("div", { class: "flame-scroll" }, svg),
  );
}

const STATS_COLUMNS = [
  ["service", "Service", "text"],
  ["operation", "Operation", "text"],
  ["count", "Count", "num"],
  ["total", "Total", "num"],
  ["avg", "Avg", "num"],
  ["min", "Min", "num"],
  ["max", "Max", "num"],
  ["selfTotal", "Self total", "num"],
];

/** The span statistics table of `model`, sortable by any column (self total first). */
export function renderSpanStatistics(model) {
  const rows = spanStatistics(model);
  let sortKey = "selfTotal";
  let descending = true;
  const tbody = h("tbody", {});
  const headers = STATS_COLUMNS.map(([key, label, type]) => {
    const button = h("button", { type: "button", class: "sort-button" }, label);
    button.addEventListener("click", () => {
      descending = sortKey === key ? !descending : type === "num";
      sortKey = key;
      fill();
    });
    return h("th", { scope: "col", class: type, dataset: { col: key } }, button);
  });
  function fill() {
    headers.forEach((th, i) => {
      if (STATS_COLUMNS[i][0] === sortKey) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    const sorted = rows.slice().sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    clear(tbody).append(
      ...sorted.map((row) =>
        h(
          "tr",
          { dataset: { operation: row.operation } },
          STATS_COLUMNS.map(([key, , type]) =>
            h("td", { class: type, dataset: { col: key } }, type === "num" && key !== "count" ? formatDuration(row[key]) : String(row[key])),
          ),
        ),
      ),
    );
  }
  fill();
  return h(
    "section",
    { class: "span-stats-view", "aria-label": "Span statistics" },
    h("p", { class: "muted" }, "Self time is the part of a span no child covers: where the time went."),
    h(
      "div",
      { class: "table-scroll" },
      h("table", { class: "data-table span-stats-table" }, h("caption", { class: "visually-hidden" }, "Statistics per service and operation; column headers sort"), h("thead", {}, h("tr", {}, headers)), tbody),
    ),
  );
}
