// Two traces side by side (/trace/A...B, Jaeger's own deep link). Spans are matched by the
// service and operation of every span on their path from the root, the n-th such span matching
// the n-th; what only B has is added, what only A has is removed, and matched spans that took
// noticeably longer or shorter in B are slower or faster.

import { h } from "./h.js";
import { clear, formatDuration, formatTimestamp, plural } from "./util.js";
import { buildTrace } from "./model.js";

// A matched span is slower or faster only when it changed by both this share and this much.
const CHANGE_SHARE = 0.1;
const CHANGE_MIN_US = 100;

function pathKeys(model) {
  const keys = new Map();
  const seen = new Map();
  for (const node of model.nodes) {
    const base = `${node.parent ? keys.get(node.parent.id) : ""}/${node.service}\u0000${node.span.operationName}`;
    const n = (seen.get(base) || 0) + 1;
    seen.set(base, n);
    keys.set(node.id, `${base}#${n}`);
  }
  return keys;
}

/**
 * Match the spans of models `a` and `b`. Returns rows in tree order, each {key, depth, a, b,
 * change}: `a`/`b` the nodes (null when absent), change one of added, removed, slower, faster,
 * same.
 */
export function compareTraces(a, b) {
  const keysA = pathKeys(a);
  const keysB = pathKeys(b);
  const byKeyA = new Map([...keysA].map(([id, key]) => [key, a.byId.get(id)]));
  const byKeyB = new Map([...keysB].map(([id, key]) => [key, b.byId.get(id)]));
  const children = new Map();
  const roots = [];
  const link = (key, parentKey) => {
    if (parentKey === null) {
      if (!roots.includes(key)) roots.push(key);
      return;
    }
    if (!children.has(parentKey)) children.set(parentKey, []);
    const list = children.get(parentKey);
    if (!list.includes(key)) list.push(key);
  };
  for (const [model, keys] of [[a, keysA], [b, keysB]]) {
    for (const node of model.nodes) link(keys.get(node.id), node.parent ? keys.get(node.parent.id) : null);
  }
  const rows = [];
  const stack = roots.slice().reverse().map((key) => [key, 1]);
  while (stack.length) {
    const [key, depth] = /** @type {any[]} */ (stack.pop());
    const nodeA = byKeyA.get(key) || null;
    const nodeB = byKeyB.get(key) || null;
    let change = "same";
    if (!nodeA) change = "added";
    else if (!nodeB) change = "removed";
    else {
      const delta = nodeB.duration - nodeA.duration;
      if (Math.abs(delta) >= CHANGE_MIN_US && Math.abs(delta) >= CHANGE_SHARE * Math.max(nodeA.duration, 1)) change = delta > 0 ? "slower" : "faster";
    }
    rows.push({ key, depth, a: nodeA, b: nodeB, change });
    const kids = children.get(key) || [];
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push([kids[i], depth + 1]);
  }
  return rows;
}

function signedDuration(delta) {
  return `${delta >= 0 ? "+" : "−"}${formatDuration(Math.abs(delta))}`;
}

function summaryCard(model, label, href) {
  return h(
    "div",
    { class: `compare-card compare-${label.toLowerCase()}` },
    h("h2", {}, `${label}: `, h("a", { href, class: "mono" }, model.traceID.slice(0, 16))),
    h("p", {}, `${model.root.service}: ${model.root.span.operationName}`),
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact", dataset: { stat: "duration" } }, h("dt", {}, "Duration"), h("dd", {}, formatDuration(model.duration))),
      h("div", { class: "fact", dataset: { stat: "spans" } }, h("dt", {}, "Spans"), h("dd", {}, String(model.nodes.length))),
      h("div", { class: "fact", dataset: { stat: "errors" } }, h("dt", {}, "Errors"), h("dd", {}, String(model.errorCount))),
      h("div", { class: "fact" }, h("dt", {}, "Started"), h("dd", {}, formatTimestamp(model.start))),
    ),
  );
}

function compareBar(node, model, scale) {
  if (!node) return h("div", { class: "compare-bar-cell empty" }, "—");
  const left = ((node.start - model.start) / scale) * 100;
  const width = Math.max(0.3, (node.duration / scale) * 100);
  return h(
    "div",
    { class: "compare-bar-cell" },
    h("div", { class: "compare-track" }, h("div", { class: `compare-bar${node.isError ? " is-error" : ""}`, style: { left: `${left.toFixed(3)}%`, width: `${Math.min(100 - left, width).toFixed(3)}%`, backgroundColor: node.colour } })),
    h("span", { class: "compare-duration" }, formatDuration(node.duration)),
  );
}

/** Render the comparison of traces A and B (Jaeger JSON) into `root`. */
export function renderComparePage(root, { traceA, traceB, traceHref }) {
  const a = buildTrace(traceA);
  const b = buildTrace(traceB);
  const rows = compareTraces(a, b);
  const counts = { added: 0, removed: 0, slower: 0, faster: 0, same: 0 };
  for (const row of rows) counts[row.change] += 1;
  const scale = Math.max(a.duration, b.duration, 1);
  const labels = { added: "added in B", removed: "only in A", slower: "slower in B", faster: "faster in B", same: "" };
  const body = h(
    "tbody",
    {},
    rows.map((row) => {
      const node = row.b || row.a;
      const delta = row.a && row.b ? row.b.duration - row.a.duration : null;
      return h(
        "tr",
        { class: `compare-row cmp-${row.change}`, dataset: { change: row.change } },
        h(
          "td",
          { class: "compare-name" },
          h(
            "span",
            { class: "compare-indent", style: { paddingLeft: `${Math.min(row.depth - 1, 12) * 14}px` } },
            h("span", { class: "svc" }, node.service),
            " ",
            h("span", { class: "op" }, node.span.operationName),
            labels[row.change] ? h("span", { class: `change-tag tag-${row.change}` }, labels[row.change]) : null,
          ),
        ),
        h("td", { class: "compare-a" }, compareBar(row.a, a, scale)),
        h("td", { class: "compare-b" }, compareBar(row.b, b, scale)),
        h("td", { class: "num compare-delta" }, delta === null ? "" : `${signedDuration(delta)}${row.a.duration ? ` (${delta >= 0 ? "+" : "−"}${Math.round((Math.abs(delta) / row.a.duration) * 100)}%)` : ""}`),
      );
    }),
  );
  const total = b.duration - a.duration;
  clear(root).append(
    h(
      "article",
      { class: "compare-view", "aria-labelledby": "compare-title" },
      h("h1", { id: "compare-title" }, "Compare traces"),
      h("div", { class: "compare-cards" }, summaryCard(a, "A", traceHref(a.traceID)), summaryCard(b, "B", traceHref(b.traceID))),
      h(
        "p",
        { class: "compare-summary", role: "status" },
        `B took ${signedDuration(total)} compared with A. `,
        [
          plural(counts.added, "span") + " added",
          plural(counts.removed, "span") + " removed",
          plural(counts.slower, "span") + " slower",
          plural(counts.faster, "span") + " faster",
          plural(counts.same, "span") + " unchanged",
        ].join(", "),
        ".",
      ),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "data-table compare-table" },
          h("caption", { class: "visually-hidden" }, "Spans of both traces matched by service, operation and path"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Span"), h("th", { scope: "col" }, "A"), h("th", { scope: "col" }, "B"), h("th", { scope: "col", class: "num" }, "B − A"))),
          body,
        ),
      ),
    ),
  );
  return { rows, counts };
}
