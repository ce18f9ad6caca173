// The query API client. Every call returns the envelope's `data` or throws ApiError with the
// server's own message, so views can show what went wrong instead of a blank page.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function apiBase() {
  return document.body.dataset.api || "/jaeger/api";
}

export function apiUrl(path, params) {
  const url = new URL(apiBase() + path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  return url.pathname + url.search;
}

async function getData(path, params) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" } });
  } catch (error) {
    throw new ApiError(`Cannot reach the query API (${error.message})`, 0);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok || (body && Array.isArray(body.errors) && body.errors.length && !body.data)) {
    const first = body && Array.isArray(body.errors) && body.errors[0];
    const message = first ? first.msg || first.message || JSON.stringify(first) : response.statusText;
    throw new ApiError(`${response.status || ""} ${message}`.trim(), response.status);
  }
  if (!body || !("data" in body)) throw new ApiError("The query API answered without data", response.status);
  return body.data;
}

export const api = {
  services: () => getData("/services"),
  operations: (service) => getData(`/services/${encodeURIComponent(service)}/operations`),
  searchTraces: (params) => getData("/traces", params),
  trace: (traceID) => getData(`/traces/${encodeURIComponent(traceID)}`),
  logs: (traceID) => getData(`/x/traces/${encodeURIComponent(traceID)}/logs`),
  findings: (traceID) => getData(`/x/traces/${encodeURIComponent(traceID)}/findings`),
  stats: (service, lookback) => getData("/x/stats", { service, lookback }),
  monitor: (service, lookback, endTs) => getData("/x/monitor", { service, lookback, endTs }),
  dependencies: (endTs, lookback) => getData("/dependencies", { endTs, lookback }),
  tailUrl: () => apiUrl("/x/tail"),
  exportUrl: (traceID) => apiUrl(`/x/traces/${encodeURIComponent(traceID)}/export.html`),
};
