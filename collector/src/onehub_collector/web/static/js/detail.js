// The detail panel of one span: status, attributes, events, resource, references, its log
// records and findings. Values are always set as text, never parsed as HTML.

import { h } from "./h.js";
import { formatDuration, formatTimestamp, tagValueText } from "./util.js";

const STATUS_KEYS = new Set(["otel.status_code", "otel.status_description", "error"]);

function keyValueTable(caption, rows) {
  if (!rows.length) return h("p", { class: "muted" }, `No ${caption.toLowerCase()}.`);
  return h(
    "table",
    { class: "kv" },
    h("caption", { class: "visually-hidden" }, caption),
    h("tbody", {}, rows.map(([key, value]) => h("tr", {}, h("th", { scope: "row" }, key), h("td", {}, value)))),
  );
}

function tagRows(tags) {
  return (tags || []).map((tag) => [tag.key, tagValueText(tag)]);
}

function section(title, count, ...content) {
  return h(
    "section",
    { class: "detail-section" },
    h("h3", {}, title, count !== null ? h("span", { class: "count" }, ` (${count})`) : null),
    content,
  );
}

/**
 * Render `node`'s detail. Options: model, logs (log records of this span), findings (of this
 * span), onSelectSpan(id) to jump to a referenced span.
 */
export function renderSpanDetail(node, { model, logs = [], findings = [], onSelectSpan }) {
  const span = node.span;
  const attributes = (span.tags || []).filter((tag) => !STATUS_KEYS.has(tag.key));
  const offset = node.start - model.start;
  const status = h(
    "p",
    { class: `status status-${String(node.statusCode).toLowerCase()}` },
    h("strong", {}, node.isError ? "Error" : node.statusCode === "OK" ? "OK" : "Unset"),
    node.statusMessage ? `: ${node.statusMessage}` : "",
  );
  const events = (span.logs || []).map((log) =>
    h(
      "li",
      { class: "event" },
      h("div", { class: "event-time" }, `+${formatDuration(log.timestamp - model.start)}`, " ", h("span", { class: "muted" }, formatTimestamp(log.timestamp))),
      keyValueTable("Event fields", tagRows(log.fields)),
    ),
  );
  const references = (span.references || []).map((ref) => {
    const target = model.byId.get(ref.spanID);
    const label = target ? `${target.service} ${target.span.operationName}` : `span ${ref.spanID}`;
    const sameTrace = ref.traceID === model.traceID;
    return h(
      "li",
      {},
      h("span", { class: "ref-type" }, ref.refType), " ",
      target && onSelectSpan
        ? h("button", { type: "button", class: "link-button", onClick: () => onSelectSpan(ref.spanID) }, label)
        : h("span", {}, label),
      sameTrace ? "" : h("span", { class: "muted" }, ` in trace ${ref.traceID}`),
    );
  });
  const logItems = logs.map((log) =>
    h(
      "li",
      { class: `log severity-${severityClass(log)}` },
      h("span", { class: "log-sev" }, log.severityText || `SEV${log.severityNumber || ""}`),
      " ",
      h("span", { class: "log-time" }, `+${formatDuration(log.timestamp - model.start)}`),
      " ",
      h("span", { class: "log-body" }, typeof log.body === "string" ? log.body : JSON.stringify(log.body)),
    ),
  );
  return h(
    "div",
    { class: "span-detail" },
    h(
      "header",
      { class: "detail-head" },
      h("h2", { id: "span-detail-title" }, h("span", { class: "service-chip", style: { backgroundColor: node.colour } }), node.service, " ", h("span", { class: "op" }, span.operationName)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Duration"), h("dd", {}, formatDuration(node.duration)),
        h("dt", {}, "Start"), h("dd", {}, `+${formatDuration(offset)}`),
        h("dt", {}, "Kind"), h("dd", {}, node.kind),
        h("dt", {}, "Span ID"), h("dd", { class: "mono" }, node.id),
      ),
    ),
    findings.length
      ? section("Findings", findings.length, h("ul", { class: "findings-list" }, findings.map((f) => h("li", { class: `finding finding-${f.kind}` }, h("strong", {}, findingTitle(f.kind)), " ", f.message))))
      : null,
    section("Status", null, status),
    section("Attributes", attributes.length, keyValueTable("Attributes", tagRows(attributes))),
    section("Events", events.length, events.length ? h("ol", { class: "events" }, events) : h("p", { class: "muted" }, "No events.")),
    section("Logs", logs.length, logs.length ? h("ol", { class: "logs" }, logItems) : h("p", { class: "muted" }, "No log records for this span.")),
    section(
      "Resource",
      (node.process.tags || []).length + 1,
      keyValueTable("Resource", [["service.name", node.service], ...tagRows(node.process.tags)]),
    ),
    section("References and links", references.length, references.length ? h("ul", { class: "refs" }, references) : h("p", { class: "muted" }, "A root span: no parent.")),
    (span.warnings || []).length ? section("Warnings", span.warnings.length, h("ul", {}, span.warnings.map((w) => h("li", {}, w)))) : null,
  );
}

export function severityClass(log) {
  const number = log.severityNumber || 0;
  if (number >= 17) return "error";
  if (number >= 13) return "warn";
  if (number >= 9) return "info";
  return "debug";
}

export function findingTitle(kind) {
  return (
    {
      n_plus_one: "N+1 calls",
      sequential: "Sequential calls",
      swallowed_error: "Swallowed error",
      slow_span: "Slow span",
    }[kind] || kind
  );
}
