// One trace: header facts, findings, and three views: the timeline (with its minimap and a side
// panel with the selected span's detail and the trace's log records), the flame graph and the
// span statistics. Works the same for a trace from the server, an uploaded file and an
// exported offline page.

import { h } from "./h.js";
import { clear, formatDuration, formatTimestamp, downloadBlob, plural, tagValueText } from "./util.js";
import { buildTrace, criticalPath } from "./model.js";
import { createTimeline } from "./timeline.js";
import { renderSpanDetail, severityClass, findingTitle } from "./detail.js";
import { createMinimap } from "./minimap.js";
import { renderFlameGraph, renderSpanStatistics } from "./flame.js";

const TRACE_VIEWS = [
  ["timeline", "Timeline"],
  ["flame", "Flame graph"],
  ["stats", "Statistics"],
];

function groupBy(items, key) {
  const map = new Map();
  for (const item of items) {
    for (const id of key(item)) {
      if (!map.has(id)) map.set(id, []);
      map.get(id).push(item);
    }
  }
  return map;
}

function fact(label, value, name) {
  return h("div", { class: "fact", dataset: { stat: name } }, h("dt", {}, label), h("dd", {}, value));
}

/**
 * Draw `trace` into `root`. Options: logs and findings (lists, possibly empty), exportUrl (or
 * null offline), selectedSpan (an id to open), onSpanSelected(id) to record it in the URL,
 * view ("timeline", "flame" or "stats") and onViewChanged(view) likewise, and onCompare(id)
 * to open the comparison with another trace (no compare form without it).
 * Throws if the trace has no spans.
 * @param {HTMLElement} root
 * @param {{trace: any, logs?: any[], findings?: any[], exportUrl?: string | null,
 *   selectedSpan?: string | null, onSpanSelected?: ((id: string) => void) | null,
 *   notice?: string | null, view?: string, onViewChanged?: ((view: string) => void) | null,
 *   onCompare?: ((id: string) => void) | null}} options
 */
export function renderTraceView(root, { trace, logs = [], findings = [], exportUrl = null, selectedSpan = null, onSpanSelected = null, notice = null, view = "timeline", onViewChanged = null, onCompare = null }) {
  const model = buildTrace(trace);
  let initializing = true;
  const critical = criticalPath(model);
  const spanLogs = logs.filter((log) => log.spanID && model.byId.has(log.spanID));
  const logsBySpan = groupBy(spanLogs, (log) => [log.spanID]);
  const findingsBySpan = groupBy(findings, (finding) => finding.spanIDs || []);
  const rootSpan = model.root;

  const detailPanel = h("div", { class: "panel-body", id: "panel-span", role: "tabpanel", "aria-labelledby": "tab-span" });
  const logsPanel = h("div", { class: "panel-body", id: "panel-logs", role: "tabpanel", "aria-labelledby": "tab-logs", hidden: true });
  const spanTab = h("button", { type: "button", role: "tab", id: "tab-span", "aria-controls": "panel-span", "aria-selected": "true", onClick: () => showPanel("span") }, "Span");
  const logsTab = h("button", { type: "button", role: "tab", id: "tab-logs", "aria-controls": "panel-logs", "aria-selected": "false", onClick: () => showPanel("logs") }, `Logs (${logs.length})`);

  function showPanel(which) {
    const span = which === "span";
    detailPanel.hidden = !span;
    logsPanel.hidden = span;
    spanTab.setAttribute("aria-selected", String(span));
    logsTab.setAttribute("aria-selected", String(!span));
  }

  function showDetail(node) {
    clear(detailPanel).append(
      renderSpanDetail(node, {
        model,
        logs: logsBySpan.get(node.id) || [],
        findings: findingsBySpan.get(node.id) || [],
        onSelectSpan: (id) => timeline.select(id),
      }),
    );
    showPanel("span");
    if (onSpanSelected && !initializing) onSpanSelected(node.id);
  }

  const timeline = createTimeline(model, { criticalPath: critical, findingsBySpan, logsBySpan, onSelect: showDetail });
  const minimap = createMinimap(model, { onWindow: (start, end) => (start === null ? timeline.setWindow() : timeline.setWindow(start, end)) });

  const serviceChips = model.services.map((svc) =>
    h("li", { class: "service-legend" }, h("span", { class: "service-chip", style: { backgroundColor: svc.colour } }), `${svc.name} (${svc.spanCount})`),
  );
  const header = h(
    "header",
    { class: "trace-head" },
    h("h1", {}, `${rootSpan.service}: ${rootSpan.span.operationName}`, h("span", { class: "trace-id mono" }, `Trace ${model.traceID}`)),
    notice ? h("p", { class: "notice" }, notice) : null,
    h(
      "dl",
      { class: "facts trace-facts" },
      fact("Started", formatTimestamp(model.start), "start"),
      fact("Duration", formatDuration(model.duration), "duration"),
      fact("Services", String(model.services.length), "services"),
      fact("Spans", String(model.nodes.length), "spans"),
      fact("Depth", String(model.depth), "depth"),
      fact("Errors", String(model.errorCount), "errors"),
    ),
    h("ul", { class: "legend", "aria-label": "Services" }, serviceChips),
  );

  const findStatus = h("span", { class: "muted", role: "status" });
  const findInput = h("input", { type: "search", id: "trace-find", placeholder: "Find spans…", title: "Matches service, operation, span id and attribute key=value", "aria-label": "Find spans", autocomplete: "off" });
  let matches = [];
  let matchIndex = 0;
  let findTimer = 0;
  findInput.addEventListener("input", () => {
    clearTimeout(findTimer);
    findTimer = setTimeout(() => {
      matches = findSpans(model, findInput.value);
      matchIndex = 0;
      findStatus.textContent = findInput.value.trim() ? plural(matches.length, "match", "matches") : "";
      timeline.setHighlighted(matches);
    }, 150);
  });
  findInput.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !matches.length) return;
    event.preventDefault();
    matchIndex = (matchIndex + (event.shiftKey ? matches.length - 1 : 1)) % matches.length;
    timeline.select(matches[matchIndex]);
  });

  const criticalToggle = h("input", { type: "checkbox", id: "critical-toggle", checked: true, onChange: (e) => timeline.setCriticalVisible(e.target.checked) });
  const toolbar = h(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": "Trace actions" },
    h("button", { type: "button", onClick: () => timeline.expandAll() }, "Expand all"),
    h("button", { type: "button", onClick: () => timeline.collapseAll() }, "Collapse all"),
    h("label", { class: "check" }, criticalToggle, h("span", { class: "critical-key", "aria-hidden": "true" }), "Critical path"),
    findInput,
    findStatus,
    h("span", { class: "spacer" }),
    h("button", { type: "button", onClick: () => downloadBlob(`trace-${model.traceID}.json`, JSON.stringify({ data: [trace] }, null, 2)) }, "Download JSON"),
    exportUrl ? h("a", { class: "button", href: exportUrl, download: `trace-${model.traceID}.html` }, "Export as HTML") : null,
    onCompare ? compareForm(onCompare) : null,
  );

  const findingsBar = findings.length
    ? h(
        "section",
        { class: "findings", "aria-label": "Findings" },
        h("h2", { class: "visually-hidden" }, "Findings"),
        findings.map((finding) =>
          h(
            "button",
            {
              type: "button",
              class: `finding-badge finding-${finding.kind}`,
              title: "Show the spans involved",
              onClick: () => {
                showView("timeline", true);
                timeline.setHighlighted((finding.spanIDs || []).filter((id) => model.byId.has(id)));
              },
            },
            h("strong", {}, findingTitle(finding.kind)),
            " ",
            finding.message,
            h("span", { class: "count" }, ` · ${plural((finding.spanIDs || []).length, "span")}`),
          ),
        ),
      )
    : null;

  clear(logsPanel).append(
    logs.length
      ? h(
          "ol",
          { class: "logs trace-logs" },
          logs.map((log) => {
            const node = log.spanID ? model.byId.get(log.spanID) : null;
            return h(
              "li",
              { class: `log severity-${severityClass(log)}` },
              h("span", { class: "log-time" }, `+${formatDuration(log.timestamp - model.start)}`), " ",
              h("span", { class: "log-sev" }, log.severityText || `SEV${log.severityNumber || ""}`), " ",
              h("span", { class: "svc" }, log.service || (node ? node.service : "")), " ",
              h("span", { class: "log-body" }, typeof log.body === "string" ? log.body : JSON.stringify(log.body)),
              node ? h("button", { type: "button", class: "link-button", onClick: () => timeline.select(node.id) }, `→ ${node.span.operationName}`) : null,
            );
          }),
        )
      : h("p", { class: "muted" }, "No log records arrived for this trace."),
  );

  const warnings = model.warnings.length ? h("ul", { class: "warnings" }, model.warnings.map((w) => h("li", {}, w))) : null;
  const split = h(
    "div",
    { class: "trace-split" },
    timeline.element,
    h("aside", { class: "side-panel", "aria-label": "Span detail and logs" }, h("div", { role: "tablist", class: "tabs" }, spanTab, logsTab), detailPanel, logsPanel),
  );
  const timelineView = h("div", { class: "timeline-view" }, minimap.element, split);
  const viewHost = h("div", { class: "trace-view-host" });
  const viewButtons = TRACE_VIEWS.map(([name, label]) =>
    h("button", { type: "button", class: "view-switch", dataset: { view: name }, "aria-pressed": "false", onClick: () => showView(name, true) }, label),
  );
  let currentView = null;
  function showView(name, notify) {
    const chosen = TRACE_VIEWS.some(([known]) => known === name) ? name : "timeline";
    if (chosen === currentView) return;
    currentView = chosen;
    for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === chosen));
    toolbar.hidden = chosen !== "timeline";
    if (chosen === "timeline") clear(viewHost).append(timelineView);
    else if (chosen === "flame") {
      clear(viewHost).append(
        renderFlameGraph(model, {
          onSelect: (id) => {
            showView("timeline", true);
            timeline.select(id);
          },
        }),
      );
    } else clear(viewHost).append(renderSpanStatistics(model));
    if (notify && onViewChanged) onViewChanged(chosen);
  }
  clear(root).append(
    h(
      "article",
      { class: "trace-view", "aria-labelledby": "trace-title" },
      header,
      warnings,
      findingsBar,
      h("div", { class: "view-switcher", role: "group", "aria-label": "Trace views" }, viewButtons),
      toolbar,
      viewHost,
    ),
  );
  showView(view, false);
  /** @type {HTMLElement} */ (header.querySelector("h1")).id = "trace-title";
  const initial = selectedSpan && model.byId.has(selectedSpan) ? selectedSpan : rootSpan.id;
  timeline.select(initial, { notify: true });
  initializing = false;
  return { model, timeline };
}

function compareForm(onCompare) {
  const input = h("input", { type: "text", id: "compare-with", placeholder: "other trace id", "aria-label": "Compare with trace id", size: 14, autocomplete: "off", spellcheck: "false" });
  const form = h("form", { class: "compare-form" }, input, h("button", { type: "submit" }, "Compare"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const other = input.value.trim().toLowerCase();
    if (/^[0-9a-f]{1,32}$/.test(other)) {
      onCompare(other);
      return;
    }
    input.setCustomValidity("A trace id is 1 to 32 hexadecimal digits");
    input.reportValidity();
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
  return form;
}

/** Ids of the spans whose service, name, id or any attribute "key=value" contains `query`. */
export function findSpans(model, query) {
  const needle = query.trim().toLowerCase();
  if (!needle) return [];
  return model.nodes
    .filter((node) => {
      if (`${node.service} ${node.span.operationName} ${node.id}`.toLowerCase().includes(needle)) return true;
      return (node.span.tags || []).some((tag) => `${tag.key}=${tagValueText(tag)}`.toLowerCase().includes(needle));
    })
    .map((node) => node.id);
}
