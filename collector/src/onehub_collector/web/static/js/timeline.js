// The span timeline: a collapsible tree whose rows are drawn lazily, so a trace of many
// thousands of spans costs only the few dozen rows on screen. Follows the WAI-ARIA tree pattern
// with aria-activedescendant, so keyboard and screen-reader users can walk it.

import { h } from "./h.js";
import { clear, formatDuration } from "./util.js";

const ROW_HEIGHT = 28;
const OVERSCAN = 10;
const INDENT_PX = 14;
const MAX_INDENT_TOTAL_PX = 160;

function subtreeSizes(nodes) {
  const sizes = new Array(nodes.length).fill(1);
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const parent = nodes[i].parent;
    if (parent) sizes[parent.index] += sizes[i];
  }
  return sizes;
}

function percent(value) {
  return `${Math.max(0, Math.min(100, value)).toFixed(3)}%`;
}

/**
 * Create the timeline of `model` (see model.js). Options: criticalPath (Map from
 * criticalPath()), findingsBySpan and logsBySpan (Map spanID -> list), onSelect(node).
 */
export function createTimeline(model, options) {
  const sizes = subtreeSizes(model.nodes);
  const collapsed = new Set();
  // The visible window of time: the whole trace, or what the minimap zoomed to.
  let viewStart = model.start;
  let scale = Math.max(model.duration, 1);
  // Very deep traces indent less per level so names stay readable.
  const indent = Math.min(INDENT_PX, MAX_INDENT_TOTAL_PX / Math.max(1, model.depth - 1));
  let visible = [];
  let selectedId = null;
  let highlighted = new Set();
  let showCritical = true;
  let renderedRange = null;
  let frame = 0;

  const spacer = h("div", { class: "timeline-spacer" });
  const body = h(
    "div",
    {
      class: "timeline-body",
      role: "tree",
      tabindex: "0",
      "aria-label": `Spans of trace ${model.traceID}; arrow keys move, left and right collapse and expand`,
    },
    spacer,
  );
  const TICKS = [0, 0.25, 0.5, 0.75, 1];
  const ticks = TICKS.map((f) => h("span", { class: "tick", style: { left: percent(f * 100) } }));
  function labelTicks() {
    ticks.forEach((tick, i) => {
      tick.textContent = formatDuration(viewStart - model.start + scale * TICKS[i]);
    });
  }
  labelTicks();
  const head = h(
    "div",
    { class: "timeline-head", "aria-hidden": "true" },
    h("div", { class: "name-col" }, "Service and operation"),
    h("div", { class: "ruler" }, ticks),
  );
  const element = h("div", { class: "timeline" }, head, body);

  function recomputeVisible() {
    visible = [];
    const nodes = model.nodes;
    for (let i = 0; i < nodes.length; ) {
      const node = nodes[i];
      visible.push(node);
      i += collapsed.has(node.id) ? sizes[i] : 1;
    }
    spacer.style.height = `${visible.length * ROW_HEIGHT}px`;
    renderedRange = null;
  }

  function barFor(node) {
    const left = Math.max(0, Math.min(100, ((node.start - viewStart) / scale) * 100));
    const right = Math.max(0, Math.min(100, ((node.end - viewStart) / scale) * 100));
    const width = Math.max(right - left, 0.15);
    const outside = node.end < viewStart || node.start > viewStart + scale;
    const bar = h("div", {
      class: `span-bar${node.isError ? " is-error" : ""}${outside ? " outside-window" : ""}`,
      style: { left: percent(left), width: percent(width), backgroundColor: node.colour },
    });
    const segments = showCritical && options.criticalPath ? options.criticalPath.get(node.id) : null;
    // Segments are placed within the visible part of the bar.
    const barStart = viewStart + (left / 100) * scale;
    const barSpan = Math.max((width / 100) * scale, 1);
    for (const [from, to] of segments || []) {
      const a = Math.max(from, barStart);
      const b = Math.min(to, barStart + barSpan);
      if (b <= a) continue;
      bar.append(
        h("span", {
          class: "critical-segment",
          style: { left: percent(((a - barStart) / barSpan) * 100), width: percent(((b - a) / barSpan) * 100) },
        }),
      );
    }
    const marks = (node.span.logs || [])
      .filter((log) => log.timestamp >= viewStart && log.timestamp <= viewStart + scale)
      .map((log) => h("span", { class: "event-mark", style: { left: percent(((log.timestamp - viewStart) / scale) * 100) } }));
    // The duration goes after the bar, else before it, else inside it when the bar fills the row.
    const after = left + width;
    const text = formatDuration(node.duration);
    let label;
    // A span wholly outside a zoomed window keeps a faint mark at the edge, but no label.
    if (outside) label = null;
    else if (after < 82) label = h("span", { class: "span-duration", style: { left: `calc(${percent(after)} + 4px)` } }, text);
    else if (left > 12) label = h("span", { class: "span-duration", style: { right: `calc(${percent(100 - left)} + 4px)` } }, text);
    else label = h("span", { class: "span-duration inside", style: { right: `calc(${percent(100 - after)} + 6px)` } }, text);
    return h("div", { class: "bar-cell" }, bar, marks, label);
  }

  function rowFor(node, position) {
    const hasChildren = node.children.length > 0;
    const isCollapsed = collapsed.has(node.id);
    const siblings = node.parent ? node.parent.children : model.roots;
    const findings = options.findingsBySpan ? options.findingsBySpan.get(node.id) : null;
    const logs = options.logsBySpan ? options.logsBySpan.get(node.id) : null;
    const classes = ["span-row"];
    if (node.id === selectedId) classes.push("selected");
    if (node.isError) classes.push("error");
    if (highlighted.has(node.id)) classes.push("highlighted");
    if (showCritical && options.criticalPath && options.criticalPath.has(node.id)) classes.push("on-critical-path");
    const name = h(
      "div",
      { class: "name-col", style: { paddingLeft: `${(node.depth - 1) * indent + 4}px` } },
      hasChildren
        ? h("span", { class: "toggle", dataset: { toggle: node.id }, "aria-hidden": "true" }, isCollapsed ? "▸" : "▾")
        : h("span", { class: "toggle" }),
      h("span", { class: "service-chip", style: { backgroundColor: node.colour } }),
      h("span", { class: "svc" }, node.service),
      h("span", { class: "op" }, node.span.operationName),
      node.isError && h("span", { class: "error-icon", title: "error" }, "!"),
      findings && h("span", { class: "finding-mark", title: findings.map((f) => f.message).join("\n") }, "◆"),
      logs && h("span", { class: "log-count", title: `${logs.length} log records` }, `≡${logs.length}`),
      isCollapsed && h("span", { class: "hidden-count" }, `+${sizes[node.index] - 1}`),
    );
    return h(
      "div",
      {
        class: classes.join(" "),
        id: `span-row-${node.id}`,
        role: "treeitem",
        "aria-level": String(node.depth),
        "aria-setsize": String(siblings.length),
        "aria-posinset": String(siblings.indexOf(node) + 1),
        "aria-expanded": hasChildren ? String(!isCollapsed) : undefined,
        "aria-selected": String(node.id === selectedId),
        "aria-label": `${node.service} ${node.span.operationName}, ${formatDuration(node.duration)}${node.isError ? ", error" : ""}`,
        dataset: { spanId: node.id },
        style: { top: `${position * ROW_HEIGHT}px` },
      },
      name,
      barFor(node),
    );
  }

  function render(force = false) {
    frame = 0;
    const viewport = body.clientHeight || 600;
    // After a collapse the browser clamps scrollTop only at its next layout; clamp it here.
    const top = Math.min(body.scrollTop, Math.max(0, visible.length * ROW_HEIGHT - viewport));
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(visible.length, Math.ceil((top + viewport) / ROW_HEIGHT) + OVERSCAN);
    if (!force && renderedRange && renderedRange[0] === first && renderedRange[1] === last) return;
    renderedRange = [first, last];
    const rows = [];
    for (let i = first; i < last; i += 1) rows.push(rowFor(visible[i], i));
    clear(spacer).append(...rows);
    if (selectedId && document.getElementById(`span-row-${selectedId}`)) {
      body.setAttribute("aria-activedescendant", `span-row-${selectedId}`);
    } else body.removeAttribute("aria-activedescendant");
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => render());
  }

  function scrollIntoView(id) {
    const position = visible.findIndex((node) => node.id === id);
    if (position < 0) return;
    const top = position * ROW_HEIGHT;
    if (top < body.scrollTop) body.scrollTop = top;
    else if (top + ROW_HEIGHT > body.scrollTop + body.clientHeight) body.scrollTop = top - body.clientHeight + ROW_HEIGHT * 2;
  }

  function toggle(id, open) {
    const shouldCollapse = open === undefined ? !collapsed.has(id) : !open;
    if (shouldCollapse) collapsed.add(id);
    else collapsed.delete(id);
    recomputeVisible();
    render(true);
  }

  function select(id, { notify = true } = {}) {
    const node = model.byId.get(id);
    if (!node) return;
    for (let cursor = node.parent; cursor; cursor = cursor.parent) collapsed.delete(cursor.id);
    selectedId = id;
    recomputeVisible();
    scrollIntoView(id);
    render(true);
    if (notify && options.onSelect) options.onSelect(node);
  }

  function move(offset) {
    const position = visible.findIndex((node) => node.id === selectedId);
    const next = visible[Math.max(0, Math.min(visible.length - 1, position < 0 ? 0 : position + offset))];
    if (next) select(next.id);
  }

  body.addEventListener("scroll", schedule, { passive: true });
  body.addEventListener("click", (event) => {
    const target = /** @type {Element} */ (event.target);
    const toggleEl = /** @type {HTMLElement | null} */ (target.closest("[data-toggle]"));
    if (toggleEl) {
      toggle(toggleEl.dataset.toggle);
      return;
    }
    const row = /** @type {HTMLElement | null} */ (target.closest(".span-row"));
    if (row) select(row.dataset.spanId);
  });
  body.addEventListener("keydown", (event) => {
    const node = selectedId ? model.byId.get(selectedId) : null;
    const page = Math.max(1, Math.floor(body.clientHeight / ROW_HEIGHT) - 1);
    const keys = {
      ArrowDown: () => move(1),
      ArrowUp: () => move(-1),
      PageDown: () => move(page),
      PageUp: () => move(-page),
      Home: () => visible.length && select(visible[0].id),
      End: () => visible.length && select(visible[visible.length - 1].id),
      ArrowRight: () => {
        if (!node) return move(0);
        if (node.children.length && collapsed.has(node.id)) toggle(node.id, true);
        else if (node.children.length) select(node.children[0].id);
      },
      ArrowLeft: () => {
        if (!node) return move(0);
        if (node.children.length && !collapsed.has(node.id)) toggle(node.id, false);
        else if (node.parent) select(node.parent.id);
      },
      Enter: () => (node ? toggle(node.id) : move(0)),
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
  if (typeof ResizeObserver === "function") new ResizeObserver(() => render(true)).observe(body);

  recomputeVisible();
  requestAnimationFrame(() => render(true));
  render(true);

  return {
    element,
    select,
    toggle,
    focus: () => body.focus(),
    expandAll() {
      collapsed.clear();
      recomputeVisible();
      render(true);
    },
    collapseAll() {
      for (const node of model.nodes) if (node.children.length && node.parent) collapsed.add(node.id);
      recomputeVisible();
      render(true);
    },
    setHighlighted(ids) {
      highlighted = new Set(ids);
      if (ids.length) select(ids[0], { notify: true });
      else render(true);
    },
    setCriticalVisible(show) {
      showCritical = show;
      render(true);
    },
    visibleCount: () => visible.length,
    /** Show only [start, end] (microseconds) of the trace; no arguments shows all of it. */
    setWindow(start = model.start, end = model.end) {
      viewStart = Math.max(model.start, Math.min(start, end));
      scale = Math.max(Math.min(model.end, Math.max(start, end)) - viewStart, 1);
      labelTicks();
      render(true);
    },
  };
}
