// Turns a Jaeger-shaped trace ({traceID, spans, processes}) into the tree the views draw:
// parent links from references, depth, service colours, errors, and the critical path.

import { colourFor } from "./util.js";

function tagMap(tags) {
  const map = new Map();
  for (const tag of tags || []) map.set(tag.key, tag.value);
  return map;
}

function isErrorSpan(tags) {
  const error = tags.get("error");
  return error === true || error === "true" || tags.get("otel.status_code") === "ERROR";
}

function parentReference(span, known) {
  const refs = (span.references || []).filter((ref) => ref.spanID !== span.spanID && known.has(ref.spanID));
  return refs.find((ref) => ref.refType === "CHILD_OF") || refs.find((ref) => ref.refType === "FOLLOWS_FROM") || null;
}

/**
 * Build the view model of one trace. Spans whose parent is missing become extra roots, so a
 * partial trace still draws; an empty trace throws, because there is nothing to show.
 */
export function buildTrace(trace) {
  if (!trace || !Array.isArray(trace.spans) || trace.spans.length === 0) {
    throw new Error("This trace has no spans");
  }
  const processes = trace.processes || {};
  const byId = new Map();
  for (const span of trace.spans) {
    if (!byId.has(span.spanID)) byId.set(span.spanID, null);
  }
  const serviceIndex = new Map();
  const nodes = [];
  for (const span of trace.spans) {
    if (byId.get(span.spanID)) continue; // duplicate span ids: keep the first
    const process = processes[span.processID] || span.process || { serviceName: "unknown", tags: [] };
    const service = process.serviceName || "unknown";
    if (!serviceIndex.has(service)) serviceIndex.set(service, serviceIndex.size);
    const tags = tagMap(span.tags);
    const node = {
      span,
      id: span.spanID,
      service,
      process,
      colour: colourFor(serviceIndex.get(service)),
      start: span.startTime,
      duration: Math.max(0, span.duration || 0),
      end: span.startTime + Math.max(0, span.duration || 0),
      tags,
      kind: tags.get("span.kind") || "internal",
      isError: isErrorSpan(tags),
      statusCode: tags.get("otel.status_code") || (isErrorSpan(tags) ? "ERROR" : "UNSET"),
      statusMessage: tags.get("otel.status_description") || "",
      parent: null,
      children: [],
      depth: 1,
      index: 0,
    };
    byId.set(span.spanID, node);
    nodes.push(node);
  }
  const roots = [];
  for (const node of nodes) {
    const ref = parentReference(node.span, byId);
    const parent = ref ? byId.get(ref.spanID) : null;
    if (parent && !createsCycle(node, parent)) {
      node.parent = parent;
      parent.children.push(node);
    } else roots.push(node);
  }
  const byStart = (a, b) => a.start - b.start || a.end - b.end;
  roots.sort(byStart);
  const ordered = [];
  let depth = 0;
  // Iterative depth-first walk: a 10,000-level chain must not overflow the stack.
  /** @type {Array<[any, number]>} */
  const stack = roots.slice().reverse().map((node) => [node, 1]);
  while (stack.length) {
    const [node, level] = /** @type {[any, number]} */ (stack.pop());
    node.depth = level;
    node.index = ordered.length;
    ordered.push(node);
    depth = Math.max(depth, level);
    node.children.sort(byStart);
    for (let i = node.children.length - 1; i >= 0; i -= 1) stack.push([node.children[i], level + 1]);
  }
  const start = ordered.reduce((min, n) => Math.min(min, n.start), Infinity);
  const end = ordered.reduce((max, n) => Math.max(max, n.end), -Infinity);
  const services = [...serviceIndex.keys()].map((name, i) => ({
    name,
    colour: colourFor(i),
    spanCount: ordered.filter((n) => n.service === name).length,
  }));
  return {
    traceID: trace.traceID || ordered[0].span.traceID,
    raw: trace,
    nodes: ordered,
    byId,
    roots,
    start,
    end,
    duration: end - start,
    depth,
    services,
    errorCount: ordered.filter((n) => n.isError).length,
    root: roots[0],
    warnings: trace.warnings || [],
  };
}

function createsCycle(node, parent) {
  for (let cursor = parent; cursor; cursor = cursor.parent) if (cursor === node) return true;
  return false;
}

/**
 * The critical path: the chain of work that decided the trace's duration. Walking back from a
 * span's end, the child that finished last is what the span waited for; before that child
 * started, the next child that had finished by then; time no child covers is the span's own.
 * Returns Map(spanID -> [[start, end], ...]) of the segments on the path.
 */
export function criticalPath(model) {
  const segments = new Map();
  const add = (node, from, to) => {
    if (to <= from) return;
    if (!segments.has(node.id)) segments.set(node.id, []);
    segments.get(node.id).push([from, to]);
  };
  const root = model.roots.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  const work = [[root, root.end]];
  while (work.length) {
    const [node, limit] = /** @type {any[]} */ (work.pop());
    let cursor = Math.min(node.end, limit);
    const children = node.children
      .map((child) => ({ child, start: Math.max(child.start, node.start), end: Math.min(child.end, node.end) }))
      .filter((c) => c.end > c.start)
      .sort((a, b) => b.end - a.end);
    for (const candidate of children) {
      if (candidate.end > cursor || candidate.start >= cursor) continue;
      add(node, candidate.end, cursor);
      work.push([candidate.child, candidate.end]);
      cursor = candidate.start;
      if (cursor <= node.start) break;
    }
    add(node, node.start, cursor);
  }
  return segments;
}

/** One line per search result: what started it, how long, how big, and which services. */
export function summarizeTrace(trace) {
  const model = buildTrace(trace);
  return {
    traceID: model.traceID,
    trace,
    rootService: model.root.service,
    rootOperation: model.root.span.operationName,
    start: model.start,
    duration: model.duration,
    spanCount: model.nodes.length,
    errorCount: model.errorCount,
    services: model.services,
  };
}

/**
 * Accept what people download from Jaeger-like tools: {data: [trace...]}, one trace object, or
 * a list of traces. Throws with a readable message on anything else.
 */
export function tracesFromUpload(json) {
  let traces;
  if (Array.isArray(json)) traces = json;
  else if (json && Array.isArray(json.data)) traces = json.data;
  else if (json && Array.isArray(json.spans)) traces = [json];
  else if (json && json.resourceSpans) {
    throw new Error("This is an OTLP file; send it to the collector's /v1/traces, or upload Jaeger JSON");
  } else throw new Error("Not a Jaeger trace file: expected {\"data\": [trace, ...]}");
  const valid = traces.filter((t) => t && Array.isArray(t.spans) && t.spans.length && t.spans[0].spanID);
  if (!valid.length) throw new Error("The file holds no trace with spans");
  return valid.map((t) => ({ ...t, traceID: t.traceID || t.spans[0].traceID }));
}
