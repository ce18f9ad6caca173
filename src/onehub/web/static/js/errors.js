// Failed calls, shown as cards in the corner: what failed, why, and a link to the call's trace.

import { $, h } from "./dom.js";

const MAX_CARDS = 4;

// The trace viewer's base URL: the page's <meta name="onehub-trace-viewer"> when the server set
// it, else the embedded viewer's usual place on this host.
export function traceViewerBase() {
  const configured = document.querySelector('meta[name="onehub-trace-viewer"]')?.getAttribute("content")?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  return `${location.protocol}//${location.hostname}:16686/jaeger`;
}

export function traceUrl(traceId) {
  return `${traceViewerBase()}/trace/${encodeURIComponent(traceId)}`;
}

export function describe(error) {
  if (error.name !== "ApiError") return error.message || String(error);
  const status = error.status ? `HTTP ${error.status}` : "network error";
  const code = error.codeName ? ` ${error.codeName}` : "";
  return `${status}${code}: ${error.message}`;
}

export function showError(error) {
  console.error(error);
  const stack = $("errors");
  const close = h("button", { type: "button", class: "icon close", "aria-label": "Dismiss" }, "\u00d7");
  const traceLine = error.traceId
    ? h("p", { class: "trace" },
        "Trace ", h("code", {}, error.traceId), " ",
        h("a", { href: traceUrl(error.traceId), target: "_blank", rel: "noopener" }, "Open trace \u2197"))
    : null;
  const card = h("div", { class: "error-card", role: "alert" },
    h("div", { class: "error-head" },
      h("strong", {}, `${error.operation || "Something"} failed`), close),
    h("p", { class: "error-text" }, describe(error)),
    traceLine);
  close.addEventListener("click", () => card.remove());
  stack.prepend(card);
  while (stack.children.length > MAX_CARDS) stack.lastElementChild?.remove();
}

export function clearErrors() {
  $("errors").replaceChildren();
}
