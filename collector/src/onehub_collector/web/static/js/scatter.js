// Duration-over-time scatter plot of search results, as SVG. Each dot is a link to its trace.

import { s } from "./h.js";
import { formatDuration, formatClock } from "./util.js";

const WIDTH = 900;
const HEIGHT = 180;
const MARGIN = { left: 64, right: 16, top: 12, bottom: 28 };

/**
 * Plot `summaries` (from summarizeTrace); `hrefFor(summary)` gives each dot's link.
 * @param {any[]} summaries
 * @param {(summary: any) => string} hrefFor
 * @returns {SVGSVGElement}
 */
export function renderScatter(summaries, hrefFor) {
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const starts = summaries.map((t) => t.start);
  const minX = Math.min(...starts);
  const maxX = Math.max(...starts);
  const maxY = Math.max(1, ...summaries.map((t) => t.duration));
  const spreadX = Math.max(1, maxX - minX);
  const x = (v) => MARGIN.left + (summaries.length === 1 ? innerW / 2 : ((v - minX) / spreadX) * innerW);
  const y = (v) => MARGIN.top + innerH - (v / maxY) * innerH;

  const grid = [0, 0.5, 1].map((f) =>
    s(
      "g",
      { class: "y-tick" },
      s("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(maxY * f), y2: y(maxY * f) }),
      s("text", { x: MARGIN.left - 6, y: y(maxY * f) + 4, "text-anchor": "end" }, formatDuration(maxY * f)),
    ),
  );
  const xLabels = (summaries.length === 1 ? [minX] : [minX, minX + spreadX / 2, maxX]).map((v, i, all) =>
    s(
      "text",
      { class: "x-tick", x: x(v), y: HEIGHT - 8, "text-anchor": all.length === 1 ? "middle" : ["start", "middle", "end"][i] },
      formatClock(v),
    ),
  );
  const dots = summaries.map((t) =>
    s(
      "a",
      { href: hrefFor(t), class: "dot-link", "aria-label": `${t.rootService} ${t.rootOperation}, ${formatDuration(t.duration)}` },
      s(
        "circle",
        { class: t.errorCount ? "dot error" : "dot", cx: x(t.start), cy: y(t.duration), r: Math.min(12, 3 + Math.sqrt(t.spanCount)) },
        s("title", {}, `${t.rootService}: ${t.rootOperation}\n${formatDuration(t.duration)}, ${t.spanCount} spans${t.errorCount ? `, ${t.errorCount} errors` : ""}`),
      ),
    ),
  );
  return s(
    "svg",
    { class: "scatter", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "group", "aria-label": `Durations of ${summaries.length} traces over time` },
    s("g", { class: "grid" }, grid),
    s("g", {}, xLabels),
    s("g", { class: "dots" }, dots),
  );
}
