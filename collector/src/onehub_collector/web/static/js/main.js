// Entry point: the top bar, the router (URL <-> view, with the history API), trace upload, and
// the offline mode of an exported page, where the trace comes embedded in the document.

import { h } from "./h.js";
import { clear } from "./util.js";
import { api } from "./api.js";
import { tracesFromUpload } from "./model.js";
import { renderSearchPage, searchToParams } from "./search.js";
import { renderTraceView } from "./traceview.js";
import { renderLivePage } from "./live.js";
import { renderServicesPage } from "./services.js";
import { renderComparePage } from "./compare.js";
import { renderMonitorPage } from "./monitor.js";

const EMBEDDED_ID = "onehub-embedded";
const uploadedTraces = new Map();
let uploadedFile = null;
let teardown = null;
let routeToken = 0;

function basePath() {
  return document.body.dataset.base || "/jaeger";
}

function viewerHref(path) {
  return basePath() + path;
}

function traceHref(traceID) {
  return viewerHref(`/trace/${encodeURIComponent(traceID)}`);
}

function searchHref(search) {
  return viewerHref(`/search?${searchToParams({ tags: {}, ...search })}`);
}

function navigate(path) {
  history.pushState({}, "", viewerHref(path));
  route();
}

/** @returns {HTMLElement} the shell's alert line (index.html) */
function alertBox() {
  return /** @type {HTMLElement} */ (document.getElementById("global-alert"));
}

function buildTopBar() {
  const upload = h("input", { type: "file", id: "upload-input", accept: ".json,application/json", class: "visually-hidden" });
  upload.addEventListener("change", async () => {
    const file = upload.files?.[0];
    upload.value = "";
    if (!file) return;
    try {
      const traces = tracesFromUpload(JSON.parse(await file.text()));
      for (const trace of traces) uploadedTraces.set(trace.traceID.toLowerCase(), { trace, name: file.name });
      alertBox().textContent = "";
      if (traces.length === 1) navigate(`/trace/${traces[0].traceID.toLowerCase()}`);
      else {
        uploadedFile = { name: file.name, traces };
        navigate("/search?source=upload");
      }
    } catch (error) {
      alertBox().textContent = `Cannot open ${file.name}: ${error.message}`;
    }
  });
  const tab = (path, label, name) => h("a", { href: viewerHref(path), class: "nav-link", dataset: { tab: name } }, label);
  return h(
    "header",
    { class: "topbar" },
    h("a", { href: viewerHref(""), class: "brand" }, "OneHub ", h("span", {}, "traces")),
    h("nav", { "aria-label": "Views" }, tab("/search", "Search", "search"), tab("/live", "Live", "live"), tab("/services", "Services", "services"), tab("/monitor", "Monitor", "monitor")),
    h("span", { class: "spacer" }),
    h("label", { for: "upload-input", class: "button" }, "Open JSON file…"),
    upload,
    h("div", { id: "global-alert", class: "error-box", role: "alert" }),
  );
}

function markTab(name) {
  for (const link of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".nav-link"))) {
    if (link.dataset.tab === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function loading(app, text) {
  clear(app).append(h("p", { class: "loading", role: "status" }, text));
}

async function showTrace(app, traceID, params, token) {
  markTab("");
  document.title = `Trace ${traceID.slice(0, 8)} · OneHub traces`;
  const local = uploadedTraces.get(traceID);
  const onSpanSelected = (spanID) => {
    const url = new URL(window.location.href);
    url.searchParams.set("span", spanID);
    history.replaceState(history.state, "", url.pathname + url.search);
  };
  const onViewChanged = (view) => {
    const url = new URL(window.location.href);
    if (view === "timeline") url.searchParams.delete("view");
    else url.searchParams.set("view", view);
    history.replaceState(history.state, "", url.pathname + url.search);
  };
  const onCompare = (other) => navigate(`/trace/${traceID}...${other}`);
  const common = { selectedSpan: params.get("span"), onSpanSelected, view: params.get("view") || "timeline", onViewChanged, onCompare };
  if (local) {
    renderTraceView(app, { ...common, trace: local.trace, notice: `Opened from ${local.name}; not stored on the server.` });
    return;
  }
  loading(app, `Loading trace ${traceID}…`);
  let trace;
  try {
    const data = await api.trace(traceID);
    trace = Array.isArray(data) ? data[0] : data;
    if (!trace) throw new Error("the server returned no trace");
  } catch (error) {
    if (token !== routeToken) return;
    const message = error.status === 404 ? `Trace ${traceID} was not found. It may have aged out of the store, or not arrived yet.` : `Could not load trace ${traceID}: ${error.message}`;
    clear(app).append(h("div", { class: "error-box", role: "alert" }, message));
    return;
  }
  const [logs, findings] = await Promise.all([api.logs(traceID).catch(() => []), api.findings(traceID).catch(() => [])]);
  if (token !== routeToken) return;
  renderTraceView(app, { ...common, trace, logs: logs || [], findings: findings || [], exportUrl: api.exportUrl(traceID) });
}

async function loadTrace(traceID) {
  const local = uploadedTraces.get(traceID);
  if (local) return local.trace;
  try {
    const data = await api.trace(traceID);
    const trace = Array.isArray(data) ? data[0] : data;
    if (!trace) throw new Error("the server returned no trace");
    return trace;
  } catch (error) {
    throw new Error(error.status === 404 ? `Trace ${traceID} was not found.` : `Could not load trace ${traceID}: ${error.message}`, { cause: error });
  }
}

async function showCompare(app, first, second, token) {
  markTab("");
  document.title = `Compare ${first.slice(0, 8)} and ${second.slice(0, 8)} · OneHub traces`;
  loading(app, `Loading traces ${first} and ${second}…`);
  let traces;
  try {
    traces = await Promise.all([loadTrace(first), loadTrace(second)]);
  } catch (error) {
    if (token === routeToken) clear(app).append(h("div", { class: "error-box", role: "alert" }, error.message));
    return;
  }
  if (token !== routeToken) return;
  renderComparePage(app, { traceA: traces[0], traceB: traces[1], traceHref });
}

/** Render the view the current URL names. */
async function route() {
  routeToken += 1;
  const token = routeToken;
  if (teardown) {
    teardown();
    teardown = null;
  }
  const app = /** @type {HTMLElement} */ (document.getElementById("app"));
  const path = window.location.pathname.slice(basePath().length).replace(/\/+$/, "") || "/";
  const params = new URLSearchParams(window.location.search);
  try {
    const compared = path.startsWith("/trace/") ? decodeURIComponent(path.slice("/trace/".length)).toLowerCase().split("...") : [];
    if (compared.length === 2 && compared[0] && compared[1]) {
      await showCompare(app, compared[0], compared[1], token);
    } else if (path.startsWith("/trace/")) {
      await showTrace(app, decodeURIComponent(path.slice("/trace/".length)).toLowerCase(), params, token);
    } else if (path === "/live") {
      markTab("live");
      document.title = "Live · OneHub traces";
      teardown = renderLivePage(app, { traceHref });
    } else if (path === "/monitor") {
      markTab("monitor");
      document.title = "Monitor · OneHub traces";
      await renderMonitorPage(app, { params, navigate, searchHref });
    } else if (path === "/services" || path === "/dependencies") {
      markTab("services");
      document.title = "Services · OneHub traces";
      await renderServicesPage(app, { params, navigate, searchHref });
    } else {
      markTab("search");
      document.title = "Search · OneHub traces";
      const uploaded = params.get("source") === "upload" ? uploadedFile : null;
      await renderSearchPage(app, { params, navigate, traceHref, uploaded });
    }
  } catch (error) {
    if (token === routeToken) clear(app).append(h("div", { class: "error-box", role: "alert" }, `Something went wrong: ${error.message}`));
  }
}

function interceptLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target.closest("a");
  if (!anchor || anchor.hasAttribute("download") || anchor.getAttribute("target")) return;
  const url = new URL(anchor.getAttribute("href") || "", window.location.href);
  const base = basePath();
  const internal = url.origin === window.location.origin && (url.pathname === base || url.pathname.startsWith(`${base}/`));
  if (!internal || url.pathname.startsWith(`${base}/api/`) || url.pathname.startsWith(`${base}/static/`)) return;
  event.preventDefault();
  history.pushState({}, "", url.pathname + url.search);
  route();
}

function startEmbedded(script) {
  const app = /** @type {HTMLElement} */ (document.getElementById("app"));
  try {
    const payload = JSON.parse(script.textContent);
    renderTraceView(app, { trace: payload.trace, logs: payload.logs || [], findings: payload.findings || [], notice: "Exported trace, viewed offline." });
    document.title = `Trace ${payload.trace.traceID} · OneHub traces`;
  } catch (error) {
    clear(app).append(h("div", { class: "error-box", role: "alert" }, `This export cannot be shown: ${error.message}`));
  }
}

function start() {
  const embedded = document.getElementById(EMBEDDED_ID);
  if (embedded) {
    startEmbedded(embedded);
    return;
  }
  document.body.prepend(buildTopBar());
  document.addEventListener("click", interceptLinks);
  window.addEventListener("popstate", route);
  route();
}

start();
