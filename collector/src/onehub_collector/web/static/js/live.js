// The Live tab: traces as they arrive, from the collector's server-sent event stream.

import { h } from "./h.js";
import { clear, formatDuration, formatClock, plural } from "./util.js";
import { api } from "./api.js";

const MAX_LIVE_ROWS = 200;

/** Render the live tail into `root`; returns a function that closes the stream. */
export function renderLivePage(root, { traceHref }) {
  let paused = false;
  let received = 0;
  const state = h("span", { class: "live-state", role: "status" }, "Connecting…");
  const counter = h("span", { class: "muted" });
  const filter = h("input", { id: "live-filter", type: "search", placeholder: "service or operation", autocomplete: "off" });
  const pauseButton = h("button", { type: "button", "aria-pressed": "false" }, "Pause");
  const tbody = h("tbody", {});
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", String(paused));
  });
  const clearButton = h("button", { type: "button", onClick: () => clear(tbody) }, "Clear");
  filter.addEventListener("input", () => {
    for (const row of tbody.rows) row.hidden = !matches(row.dataset.text, filter.value);
  });

  clear(root).append(
    h(
      "section",
      { class: "live", "aria-labelledby": "live-title" },
      h("div", { class: "page-head" }, h("h1", { id: "live-title" }, "Live traces"), state, counter),
      h("div", { class: "toolbar" }, h("label", { for: "live-filter" }, "Filter "), filter, pauseButton, clearButton),
      h(
        "table",
        { class: "data-table live-table" },
        h("caption", { class: "visually-hidden" }, "Traces as they arrive, newest first"),
        h("thead", {}, h("tr", {}, ["Time", "Service", "Operation", "Duration", "Spans", "Errors"].map((c, i) => h("th", { scope: "col", class: i >= 3 ? "num" : "" }, c)))),
        tbody,
      ),
    ),
  );

  const source = new EventSource(api.tailUrl());
  source.addEventListener("open", () => {
    state.textContent = "● Live";
    state.className = "live-state on";
  });
  source.addEventListener("error", () => {
    state.textContent = "Reconnecting…";
    state.className = "live-state off";
  });
  source.addEventListener("trace", (event) => {
    if (paused) return;
    let item;
    try {
      item = JSON.parse(event.data);
    } catch {
      return;
    }
    received += 1;
    counter.textContent = `${plural(received, "trace")} received`;
    const text = `${item.service} ${item.operation}`;
    const row = h(
      "tr",
      { class: item.errors ? "error" : "", dataset: { text } },
      h("td", {}, formatClock(item.startTime)),
      h("td", {}, item.service),
      h("td", {}, h("a", { href: traceHref(item.traceID) }, item.operation)),
      h("td", { class: "num" }, formatDuration(item.duration)),
      h("td", { class: "num" }, String(item.spanCount)),
      h("td", { class: "num" }, String(item.errors || 0)),
    );
    row.hidden = !matches(text, filter.value);
    tbody.prepend(row);
    while (tbody.rows.length > MAX_LIVE_ROWS) tbody.rows[tbody.rows.length - 1].remove();
  });
  return () => source.close();
}

function matches(text, query) {
  return !query || text.toLowerCase().includes(query.trim().toLowerCase());
}
