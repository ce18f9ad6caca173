// The search page: the form (whose state lives in the URL, so every search is a deep link), the
// scatter plot and the sortable result list.

import { h } from "./h.js";
import { clear, formatDuration, formatTimestamp, formatAge, plural, LOOKBACKS, lookbackMs, isGoDuration, parseLogfmt, formatLogfmt, tagsFromParam } from "./util.js";
import { api } from "./api.js";
import { summarizeTrace } from "./model.js";
import { renderScatter } from "./scatter.js";

const SORTS = [
  ["recent", "Most recent", (a, b) => b.start - a.start],
  ["longest", "Longest first", (a, b) => b.duration - a.duration],
  ["shortest", "Shortest first", (a, b) => a.duration - b.duration],
  ["spans", "Most spans", (a, b) => b.spanCount - a.spanCount || b.start - a.start],
];
const DEFAULT_LIMIT = 20;

function field(label, control, hint) {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null);
}

function option(value, label, selected) {
  return h("option", { value, selected: selected || undefined }, label);
}

/** Read the search from URL parameters; throws Error with a readable message on bad values. */
export function searchFromParams(params) {
  const tags = tagsFromParam(params.get("tags") || "");
  const search = {
    service: params.get("service") || "",
    operation: params.get("operation") || "",
    tags,
    lookback: params.get("lookback") || "1h",
    minDuration: params.get("minDuration") || "",
    maxDuration: params.get("maxDuration") || "",
    limit: params.get("limit") || String(DEFAULT_LIMIT),
    sort: params.get("sort") || "recent",
    start: params.get("start") || "",
    end: params.get("end") || "",
  };
  if (search.lookback === "custom") {
    // Jaeger's own deep links: lookback=custom with start and end in microseconds.
    if (!/^\d+$/.test(search.start) || !/^\d+$/.test(search.end)) throw new Error("A custom time range needs start and end times");
    if (Number(search.end) <= Number(search.start)) throw new Error("The end of the time range must come after its start");
  } else {
    search.start = "";
    search.end = "";
  }
  for (const key of ["minDuration", "maxDuration"]) {
    if (search[key] && !isGoDuration(search[key])) throw new Error(`${key} must be a duration such as 250ms or 1.5s, not "${search[key]}"`);
  }
  if (!/^\d+$/.test(search.limit) || Number(search.limit) < 1) throw new Error(`limit must be a positive whole number, not "${search.limit}"`);
  return search;
}

export function searchToParams(search) {
  const params = new URLSearchParams();
  for (const key of ["service", "operation", "lookback", "start", "end", "minDuration", "maxDuration", "limit"]) {
    if (search[key]) params.set(key, search[key]);
  }
  if (Object.keys(search.tags).length) params.set("tags", JSON.stringify(search.tags));
  if (search.sort && search.sort !== "recent") params.set("sort", search.sort);
  return params;
}

/**
 * Render the search page for `params` into `root`. `navigate(path)` moves to another view;
 * `traceHref(id)` builds a trace link. `uploaded` ({name, traces}) shows a file's traces instead.
 * @param {HTMLElement} root
 * @param {{params: URLSearchParams, navigate: (path: string) => void,
 *   traceHref: (id: string) => string, uploaded?: {name: string, traces: any[]} | null}} options
 */
export async function renderSearchPage(root, { params, navigate, traceHref, uploaded = null }) {
  const status = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  const errorBox = h("div", { class: "error-box", role: "alert" });
  const results = h("section", { class: "results", "aria-label": "Search results" });
  let search;
  try {
    search = searchFromParams(params);
  } catch (error) {
    search = searchFromParams(new URLSearchParams());
    errorBox.textContent = error.message;
  }

  const serviceSelect = h("select", { id: "search-service", name: "service", required: true }, option("", "Choose a service"));
  const operationSelect = h("select", { id: "search-operation", name: "operation" }, option("", "All operations"));
  const tagsInput = h("input", { id: "search-tags", name: "tags", type: "text", value: formatLogfmt(search.tags), placeholder: "error=true http.route=/v1/topics", "aria-describedby": "search-tags-hint", autocomplete: "off", spellcheck: "false" });
  const lookbackSelect = h(
    "select",
    { id: "search-lookback", name: "lookback" },
    LOOKBACKS.map(([name]) => option(name, `Last ${name}`, name === search.lookback)),
    option("custom", "Custom time range", search.lookback === "custom"),
  );
  const rangeStart = h("input", { id: "search-start", name: "start", type: "datetime-local", step: 1, value: search.start ? localInputValue(Number(search.start)) : "" });
  const rangeEnd = h("input", { id: "search-end", name: "end", type: "datetime-local", step: 1, value: search.end ? localInputValue(Number(search.end)) : "" });
  const rangeFields = h("div", { class: "field-row time-range", hidden: search.lookback !== "custom" }, field("From", rangeStart), field("To", rangeEnd));
  lookbackSelect.addEventListener("change", () => {
    rangeFields.hidden = lookbackSelect.value !== "custom";
    if (!rangeFields.hidden && !rangeStart.value) {
      const now = Date.now() * 1000;
      rangeStart.value = localInputValue(now - 3600e6);
      rangeEnd.value = localInputValue(now);
    }
  });
  const minInput = h("input", { id: "search-min", name: "minDuration", type: "text", value: search.minDuration, placeholder: "e.g. 100ms", size: 8 });
  const maxInput = h("input", { id: "search-max", name: "maxDuration", type: "text", value: search.maxDuration, placeholder: "e.g. 2s", size: 8 });
  const limitInput = h("input", { id: "search-limit", name: "limit", type: "number", min: 1, max: 1500, value: search.limit });

  async function loadOperations(service, selected) {
    clear(operationSelect).append(option("", "All operations"));
    if (!service) return;
    try {
      const operations = (await api.operations(service)) || [];
      operationSelect.append(...operations.slice().sort().map((op) => option(op, op, op === selected)));
    } catch (error) {
      errorBox.textContent = `Could not load operations: ${error.message}`;
    }
  }
  serviceSelect.addEventListener("change", () => loadOperations(serviceSelect.value, ""));

  const form = h(
    "form",
    { class: "search-form", "aria-label": "Find traces" },
    field("Service", serviceSelect),
    field("Operation", operationSelect),
    field("Tags", tagsInput, 'logfmt: key=value key2="with spaces"'),
    field("Lookback", lookbackSelect),
    rangeFields,
    h("div", { class: "field-row" }, field("Min duration", minInput), field("Max duration", maxInput)),
    field("Limit", limitInput),
    h("button", { type: "submit", class: "primary" }, "Find traces"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorBox.textContent = "";
    let tags;
    try {
      tags = parseLogfmt(tagsInput.value.trim());
    } catch (error) {
      errorBox.textContent = error.message;
      tagsInput.focus();
      return;
    }
    for (const input of [minInput, maxInput]) {
      if (input.value.trim() && !isGoDuration(input.value.trim())) {
        errorBox.textContent = `${input.labels?.[0]?.textContent} must be a duration such as 250ms or 1.5s`;
        input.focus();
        return;
      }
    }
    /** @type {number | string | null} */
    let start = "";
    /** @type {number | string | null} */
    let end = "";
    if (lookbackSelect.value === "custom") {
      start = microsFromInput(rangeStart.value);
      end = microsFromInput(rangeEnd.value);
      if (start === null || end === null) {
        errorBox.textContent = "Give both ends of the custom time range.";
        (start === null ? rangeStart : rangeEnd).focus();
        return;
      }
      if (end <= start) {
        errorBox.textContent = "The end of the time range must come after its start.";
        rangeEnd.focus();
        return;
      }
    }
    if (!serviceSelect.value) {
      errorBox.textContent = "Choose a service to search.";
      serviceSelect.focus();
      return;
    }
    const next = {
      service: serviceSelect.value,
      operation: operationSelect.value,
      tags,
      lookback: lookbackSelect.value,
      start: String(start),
      end: String(end),
      minDuration: minInput.value.trim(),
      maxDuration: maxInput.value.trim(),
      limit: limitInput.value || String(DEFAULT_LIMIT),
      sort: search.sort,
    };
    navigate(`/search?${searchToParams(next)}`);
  });

  const traceIdInput = h("input", { id: "lookup-trace-id", type: "text", placeholder: "trace id (hex)", pattern: "[0-9a-fA-F]{1,32}", autocomplete: "off", spellcheck: "false", required: true });
  const lookup = h("form", { class: "lookup-form", "aria-label": "Open a trace by id" }, field("Trace ID", traceIdInput), h("button", { type: "submit" }, "Open"));
  lookup.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = traceIdInput.value.trim().toLowerCase();
    if (!/^[0-9a-f]{1,32}$/.test(id)) {
      errorBox.textContent = "A trace id is 1 to 32 hexadecimal digits.";
      return;
    }
    navigate(`/trace/${id}`);
  });

  clear(root).append(
    h("div", { class: "search-layout" }, h("aside", { class: "search-side" }, h("h1", { class: "visually-hidden" }, "Search traces"), form, lookup), h("div", { class: "search-main" }, errorBox, status, results)),
  );

  function showResults(summaries, heading) {
    const sortSelect = h("select", { id: "results-sort" }, SORTS.map(([key, label]) => option(key, label, key === search.sort)));
    const list = h("ol", { class: "result-list" });
    const maxDuration = Math.max(1, ...summaries.map((t) => t.duration));
    // Two ticked results can be compared, in the order they were ticked (A, then B).
    const picked = [];
    const compareButton = h("button", { type: "button", id: "compare-selected", disabled: true }, "Compare 2 selected");
    compareButton.addEventListener("click", () => navigate(`/trace/${picked[0]}...${picked[1]}`));
    const onPick = (traceID, checked) => {
      const at = picked.indexOf(traceID);
      if (checked && at < 0) picked.push(traceID);
      if (!checked && at >= 0) picked.splice(at, 1);
      while (picked.length > 2) {
        const dropped = picked.shift();
        const box = /** @type {HTMLInputElement | null} */ (list.querySelector(`input[data-trace-id="${dropped}"]`));
        if (box) box.checked = false;
      }
      compareButton.disabled = picked.length !== 2;
    };
    const fill = () => {
      const [, , compare] = SORTS.find(([key]) => key === sortSelect.value) || SORTS[0];
      clear(list).append(...summaries.slice().sort(compare).map((t) => resultItem(t, maxDuration, traceHref, picked.includes(t.traceID), onPick)));
    };
    sortSelect.addEventListener("change", () => {
      search.sort = sortSelect.value;
      if (!uploaded) history.replaceState(history.state, "", `?${searchToParams(search)}`);
      fill();
    });
    fill();
    clear(results).append(
      h("div", { class: "results-head" }, h("h2", {}, heading), summaries.length > 1 ? compareButton : null, h("label", { for: "results-sort" }, "Sort "), sortSelect),
      // append() would write a null out as the text "null": no traces, no chart.
      ...(summaries.length ? [renderScatter(summaries, (t) => traceHref(t.traceID))] : []),
      summaries.length ? list : h("p", { class: "muted" }, "No traces match. Widen the lookback or remove a filter."),
    );
  }

  if (uploaded) {
    const summaries = uploaded.traces.map(summarizeTrace);
    status.textContent = `${plural(summaries.length, "trace")} from ${uploaded.name}`;
    showResults(summaries, `From ${uploaded.name}`);
  }

  try {
    const services = (await api.services()) || [];
    serviceSelect.append(...services.slice().sort().map((name) => option(name, name, name === search.service)));
    if (search.service && !services.includes(search.service)) serviceSelect.append(option(search.service, search.service, true));
  } catch (error) {
    errorBox.textContent = `Could not load services: ${error.message}`;
  }
  await loadOperations(search.service, search.operation);
  if (uploaded || !search.service || errorBox.textContent) {
    if (!uploaded && !errorBox.textContent) status.textContent = "Choose a service and find traces, or open a trace by id.";
    return;
  }

  status.textContent = "Searching…";
  const custom = search.lookback === "custom";
  const end = custom ? Number(search.end) : Date.now() * 1000;
  const start = custom ? Number(search.start) : end - lookbackMs(search.lookback) * 1000;
  try {
    const traces = await api.searchTraces({
      service: search.service,
      operation: search.operation,
      tags: Object.keys(search.tags).length ? JSON.stringify(search.tags) : "",
      start,
      end,
      lookback: search.lookback,
      minDuration: search.minDuration,
      maxDuration: search.maxDuration,
      limit: search.limit,
    });
    const summaries = (traces || []).filter((t) => t.spans && t.spans.length).map(summarizeTrace);
    status.textContent = custom
      ? `${plural(summaries.length, "trace")} found between ${formatTimestamp(start)} and ${formatTimestamp(end)}`
      : `${plural(summaries.length, "trace")} found`;
    showResults(summaries, `${plural(summaries.length, "trace")}`);
  } catch (error) {
    status.textContent = "";
    errorBox.textContent = `Search failed: ${error.message}`;
  }
}

/** A `datetime-local` input's value (local time, to the second) for a microsecond timestamp. */
function localInputValue(micros) {
  const date = new Date(micros / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Microseconds since the epoch of a `datetime-local` value, or null when empty or invalid. */
function microsFromInput(value) {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms * 1000 : null;
}

function resultItem(t, maxDuration, traceHref, checked, onPick) {
  const pick = h("input", { type: "checkbox", class: "result-pick", checked: checked || undefined, "aria-label": `Select trace ${t.traceID.slice(0, 8)} to compare`, dataset: { traceId: t.traceID } });
  pick.addEventListener("change", () => onPick(t.traceID, pick.checked));
  return h(
    "li",
    { class: `result${t.errorCount ? " has-errors" : ""}` },
    pick,
    h(
      "a",
      { href: traceHref(t.traceID), class: "result-link" },
      h("span", { class: "result-title" }, h("span", { class: "svc" }, t.rootService), ": ", t.rootOperation),
      h("span", { class: "result-id mono" }, t.traceID.slice(0, 8)),
      h("span", { class: "result-duration" }, formatDuration(t.duration)),
    ),
    h("div", { class: "result-bar-track", "aria-hidden": "true" }, h("div", { class: "result-bar", style: { width: `${Math.max(0.5, (t.duration / maxDuration) * 100)}%` } })),
    h(
      "div",
      { class: "result-meta" },
      h("span", {}, plural(t.spanCount, "span")),
      t.errorCount ? h("span", { class: "error-count" }, plural(t.errorCount, "error")) : null,
      h("ul", { class: "legend" }, t.services.map((svc) => h("li", { class: "service-legend" }, h("span", { class: "service-chip", style: { backgroundColor: svc.colour } }), `${svc.name} (${svc.spanCount})`))),
      h("span", { class: "result-time" }, formatTimestamp(t.start), " · ", formatAge(t.start)),
    ),
  );
}
