// Service dependency graph as SVG: services in columns by how far they are from a caller-less
// service, edges labelled with their call counts. Cycles are tolerated.

import { s } from "./h.js";

const NODE_H = 34;
const COL_GAP = 90;
const ROW_GAP = 26;
const CHAR_W = 7.5;

function layers(names, edges) {
  const incoming = new Map(names.map((n) => [n, 0]));
  const outgoing = new Map(names.map((n) => [n, []]));
  for (const edge of edges) {
    if (edge.parent === edge.child) continue;
    incoming.set(edge.child, incoming.get(edge.child) + 1);
    outgoing.get(edge.parent).push(edge.child);
  }
  const layer = new Map();
  let frontier = names.filter((n) => incoming.get(n) === 0);
  if (!frontier.length) frontier = [names[0]]; // a pure cycle: start anywhere
  let depth = 0;
  // Breadth-first by longest distance, bounded so a cycle cannot loop forever.
  while (frontier.length && depth <= names.length) {
    const next = new Set();
    for (const name of frontier) {
      layer.set(name, depth);
      for (const child of outgoing.get(name)) next.add(child);
    }
    frontier = [...next];
    depth += 1;
  }
  for (const name of names) if (!layer.has(name)) layer.set(name, 0);
  return layer;
}

/** Draw `dependencies` ([{parent, child, callCount}]); returns an SVG element. */
export function renderDependencyGraph(dependencies) {
  const names = [...new Set(dependencies.flatMap((d) => [d.parent, d.child]))].sort();
  const layerOf = layers(names, dependencies);
  const columns = [];
  for (const name of names) {
    const col = layerOf.get(name);
    (columns[col] ||= []).push(name);
  }
  const widthOf = (name) => Math.max(90, name.length * CHAR_W + 24);
  const colWidths = columns.map((col) => Math.max(...col.map(widthOf)));
  const position = new Map();
  let x = 20;
  columns.forEach((col, i) => {
    col.forEach((name, row) => position.set(name, { x, y: 20 + row * (NODE_H + ROW_GAP), w: widthOf(name) }));
    x += colWidths[i] + COL_GAP;
  });
  const width = Math.max(300, x - COL_GAP + 40);
  const height = Math.max(120, 40 + Math.max(...columns.map((c) => c.length)) * (NODE_H + ROW_GAP));
  const maxCalls = Math.max(1, ...dependencies.map((d) => d.callCount));

  const edges = dependencies.map((d) => {
    const from = position.get(d.parent);
    const to = position.get(d.child);
    const weight = 1 + 3 * Math.log1p(d.callCount) / Math.log1p(maxCalls);
    let path;
    let labelX;
    let labelY;
    if (d.parent === d.child) {
      const cx = from.x + from.w / 2;
      path = `M ${cx - 12} ${from.y} C ${cx - 30} ${from.y - 40}, ${cx + 30} ${from.y - 40}, ${cx + 12} ${from.y}`;
      labelX = cx;
      labelY = from.y - 26;
    } else {
      const forward = to.x > from.x;
      const x1 = forward ? from.x + from.w : from.x + from.w / 2;
      const y1 = forward ? from.y + NODE_H / 2 : from.y + NODE_H;
      const x2 = forward ? to.x : to.x + to.w / 2;
      const y2 = forward ? to.y + NODE_H / 2 : to.y + NODE_H;
      const bend = forward ? Math.max(40, (x2 - x1) / 2) : 60;
      path = forward
        ? `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`
        : `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 + bend}, ${x2} ${y2}`;
      labelX = (x1 + x2) / 2;
      labelY = forward ? (y1 + y2) / 2 - 6 : Math.max(y1, y2) + bend * 0.75;
    }
    return s(
      "g",
      { class: "dep-edge" },
      s("path", { d: path, "stroke-width": weight.toFixed(2), "marker-end": "url(#dep-arrow)" }, s("title", {}, `${d.parent} → ${d.child}: ${d.callCount} calls`)),
      s("text", { x: labelX, y: labelY, "text-anchor": "middle" }, String(d.callCount)),
    );
  });
  const nodes = names.map((name) => {
    const p = position.get(name);
    return s(
      "g",
      { class: "dep-node", transform: `translate(${p.x} ${p.y})` },
      s("rect", { width: p.w, height: NODE_H, rx: 6 }),
      s("text", { x: p.w / 2, y: NODE_H / 2 + 4, "text-anchor": "middle" }, name),
    );
  });
  return s(
    "svg",
    { class: "dep-graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `Dependencies between ${names.length} services` },
    s("defs", {}, s("marker", { id: "dep-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 9, markerHeight: 9, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z" }))),
    edges,
    nodes,
  );
}

/** A plain-text list of the same edges, for screen readers and copy-paste. */
export function dependencyList(dependencies) {
  return dependencies.map((d) => `${d.parent} → ${d.child}: ${d.callCount} calls`);
}
