// The minimap above a trace's timeline: every span as a thin line in tree order, and a window
// the user drags out with the mouse to zoom the timeline to that stretch of time.

import { h, s } from "./h.js";
import { formatDuration } from "./util.js";

const MINIMAP_HEIGHT = 56;
const MINIMAP_WIDTH = 1000;
const MINIMAP_MIN_DRAG_PX = 4;

/**
 * Create the minimap of `model`. `onWindow(start, end)` gets the chosen window in microseconds,
 * or (null, null) when the zoom is reset. Returns {element, setWindow(start, end)}.
 */
export function createMinimap(model, { onWindow }) {
  const total = Math.max(model.duration, 1);
  const rowHeight = MINIMAP_HEIGHT / Math.max(1, model.nodes.length);
  const lines = model.nodes.map((node, i) =>
    s("rect", {
      x: (((node.start - model.start) / total) * MINIMAP_WIDTH).toFixed(2),
      y: (i * rowHeight).toFixed(3),
      width: Math.max(0.8, (node.duration / total) * MINIMAP_WIDTH).toFixed(2),
      height: Math.max(0.6, rowHeight).toFixed(3),
      fill: node.colour,
    }),
  );
  const svg = s(
    "svg",
    { class: "minimap-spans", viewBox: `0 0 ${MINIMAP_WIDTH} ${MINIMAP_HEIGHT}`, preserveAspectRatio: "none", "aria-hidden": "true" },
    lines,
  );
  const shadeLeft = h("div", { class: "minimap-shade left" });
  const shadeRight = h("div", { class: "minimap-shade right" });
  const selection = h("div", { class: "minimap-selection", hidden: true });
  const area = h("div", { class: "minimap-area", title: "Drag to zoom the timeline to a stretch of time" }, svg, shadeLeft, shadeRight, selection);
  const label = h("span", { class: "minimap-label muted", role: "status" }, `Whole trace, ${formatDuration(model.duration)}`);
  const reset = h("button", { type: "button", class: "minimap-reset", disabled: true }, "Reset zoom");
  const element = h("div", { class: "minimap", "aria-label": "Trace minimap: drag to zoom" }, area, h("div", { class: "minimap-foot" }, label, reset));

  const fraction = (clientX) => {
    const box = area.getBoundingClientRect();
    return Math.max(0, Math.min(1, (clientX - box.left) / Math.max(1, box.width)));
  };

  function setWindow(start, end) {
    const zoomed = start !== null && end !== null && (start > model.start || end < model.end);
    const from = zoomed ? (start - model.start) / total : 0;
    const to = zoomed ? (end - model.start) / total : 1;
    shadeLeft.style.width = `${(from * 100).toFixed(3)}%`;
    shadeRight.style.width = `${((1 - to) * 100).toFixed(3)}%`;
    reset.disabled = !zoomed;
    element.classList.toggle("zoomed", zoomed);
    label.textContent = zoomed
      ? `Showing ${formatDuration(start - model.start)} to ${formatDuration(end - model.start)} (${formatDuration(end - start)})`
      : `Whole trace, ${formatDuration(model.duration)}`;
  }

  let dragFrom = null;
  // Move and release are followed on the window only while a drag lasts.
  function onMove(event) {
    const f = fraction(event.clientX);
    selection.style.left = `${(Math.min(f, dragFrom.f) * 100).toFixed(3)}%`;
    selection.style.width = `${(Math.abs(f - dragFrom.f) * 100).toFixed(3)}%`;
  }
  function onUp(event) {
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    const start = dragFrom;
    dragFrom = null;
    selection.hidden = true;
    if (Math.abs(event.clientX - start.x) < MINIMAP_MIN_DRAG_PX) return;
    const f = fraction(event.clientX);
    const from = model.start + Math.min(f, start.f) * total;
    const to = model.start + Math.max(f, start.f) * total;
    setWindow(from, to);
    onWindow(from, to);
  }
  area.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    dragFrom = { x: event.clientX, f: fraction(event.clientX) };
    selection.hidden = false;
    selection.style.left = `${(dragFrom.f * 100).toFixed(3)}%`;
    selection.style.width = "0%";
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
  });
  reset.addEventListener("click", () => {
    setWindow(null, null);
    onWindow(null, null);
  });
  setWindow(null, null);
  return { element, setWindow };
}
