// The Services tab: per-operation rate, errors and latency percentiles, and the dependency
// graph, all computed by the collector from stored spans.

import { h } from "./h.js";
import { clear, formatDuration, formatRate, formatPercent, LOOKBACKS, lookbackMs } from "./util.js";
import { api } from "./api.js";
import { renderDependencyGraph, dependencyList } from "./depgraph.js";

const COLUMNS = [
  ["service", "Service", "text"],
  ["operation", "Operation", "text"],
  ["spanKind", "Kind", "text"],
  ["count", "Spans", "num"],
  ["ratePerSec", "Rate", "num"],
  ["errorCount", "Errors", "num"],
  ["errorRatio", "Error ratio", "num"],
  ["p50", "p50", "num"],
  ["p95", "p95", "num"],
  ["p99", "p99", "num"],
];

function cellText(key, row) {
  if (key === "ratePerSec") return formatRate(row.ratePerSec);
  if (key === "errorRatio") return formatPercent(row.errorRatio);
  if (key === "p50" || key === "p95" || key === "p99") return formatDuration(row[key]);
  return String(row[key] ?? "");
}

/** Render the services page for `params` (service, lookback) into `root`. */
export async function renderServicesPage(root, { params, navigate, searchHref }) {
  const service = params.get("service") || "";
  const lookback = params.get("lookback") || "1h";
  const errorBox = h("div", { class: "error-box", role: "alert" });
  const serviceSelect = h("select", { id: "stats-service" }, h("option", { value: "" }, "All services"));
  const lookbackSelect = h("select", { id: "stats-lookback" }, LOOKBACKS.map(([name]) => h("option", { value: name, selected: name === lookback || undefined }, `Last ${name}`)));
  const apply = () => {
    const next = new URLSearchParams();
    if (serviceSelect.value) next.set("service", serviceSelect.value);
    next.set("lookback", lookbackSelect.value);
    navigate(`/services?${next}`);
  };
  serviceSelect.addEventListener("change", apply);
  lookbackSelect.addEventListener("change", apply);
  const statsSection = h("section", { class: "stats", "aria-labelledby": "stats-title" }, h("h2", { id: "stats-title" }, "Operations"), h("p", { class: "muted" }, "Loading…"));
  const depSection = h("section", { class: "deps", "aria-labelledby": "deps-title" }, h("h2", { id: "deps-title" }, "Service dependencies"), h("p", { class: "muted" }, "Loading…"));
  clear(root).append(
    h(
      "div",
      { class: "services-page" },
      h("div", { class: "page-head" }, h("h1", {}, "Services"), h("label", { for: "stats-service" }, "Service "), serviceSelect, h("label", { for: "stats-lookback" }, "Window "), lookbackSelect),
      errorBox,
      depSection,
      statsSection,
    ),
  );

  const windowMs = lookbackMs(lookback);
  const [services, stats, deps] = await Promise.allSettled([api.services(), api.stats(service, windowMs), api.dependencies(Date.now(), windowMs)]);
  if (services.status === "fulfilled") {
    serviceSelect.append(...(services.value || []).slice().sort().map((name) => h("option", { value: name, selected: name === service || undefined }, name)));
  }
  const problems = [services, stats, deps].filter((r) => r.status === "rejected").map((r) => r.reason.message);
  errorBox.textContent = problems.join("; ");

  if (stats.status === "fulfilled") statsSection.replaceChildren(/** @type {Node} */ (statsSection.firstChild), statsTable(stats.value || [], searchHref, lookback));
  else statsSection.replaceChildren(/** @type {Node} */ (statsSection.firstChild), h("p", { class: "muted" }, "Statistics are unavailable."));
  if (deps.status === "fulfilled") {
    const edges = deps.value || [];
    // replaceChildren() would print a null as the text "null": pass only nodes.
    const parts = edges.length
      ? [h("div", { class: "graph-scroll" }, renderDependencyGraph(edges)), h("details", {}, h("summary", {}, "As a list"), h("ul", {}, dependencyList(edges).map((line) => h("li", {}, line))))]
      : [h("p", { class: "muted" }, "No calls between services in this window.")];
    depSection.replaceChildren(/** @type {Node} */ (depSection.firstChild), ...parts);
  } else depSection.replaceChildren(/** @type {Node} */ (depSection.firstChild), h("p", { class: "muted" }, "The dependency graph is unavailable."));
}

function statsTable(rows, searchHref, lookback) {
  let sortKey = "count";
  let descending = true;
  const tbody = h("tbody", {});
  const headers = COLUMNS.map(([key, label, type]) => {
    const button = h("button", { type: "button", class: "sort-button" }, label);
    const th = h("th", { scope: "col", class: type }, button);
    button.addEventListener("click", () => {
      descending = sortKey === key ? !descending : type === "num";
      sortKey = key;
      fill();
    });
    return th;
  });
  function fill() {
    headers.forEach((th, i) => {
      const key = COLUMNS[i][0];
      if (key === sortKey) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    const sorted = rows.slice().sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    clear(tbody).append(
      ...sorted.map((row) =>
        h(
          "tr",
          { class: row.errorCount ? "has-errors" : "" },
          COLUMNS.map(([key, , type]) =>
            h(
              "td",
              { class: type },
              key === "operation" ? h("a", { href: searchHref({ service: row.service, operation: row.operation, lookback }) }, row.operation) : cellText(key, row),
            ),
          ),
        ),
      ),
    );
  }
  fill();
  if (!rows.length) return h("p", { class: "muted" }, "No spans in this window.");
  return h("div", { class: "table-scroll" }, h("table", { class: "data-table stats-table" }, h("caption", { class: "visually-hidden" }, "Per-operation statistics; column headers sort"), h("thead", {}, h("tr", {}, headers)), tbody));
}
