// Tracing in the browser, so a person's click is the root of the trace that runs on through
// the gateway, gRPC, the services and SQL.
//
// The server names the OTLP/HTTP endpoint for our spans in <meta name="onehub-otlp-traces">
// (the embedded collector's receiver, which allows loopback origins by CORS). Empty: no
// tracing here at all, the SDK is not even loaded, and traces start at the gateway.
//
// What makes the spans: the document-load, fetch and user-interaction instrumentations from the
// OpenTelemetry web SDK (vendor/opentelemetry-web.min.js, built by scripts/build_web_otel.sh),
// plus one span per action (startAction) under the click or submit span that triggered it.
// The SDK's default StackContextManager keeps context only for synchronous code, and our code
// awaits; so each action carries its context itself and the API client runs every fetch of the
// action inside it (OneHubApi.for). zone.js would patch every async API of the page to do the
// same, and still cannot follow native async/await.

const SERVICE_NAME = "onehub.web";
const EVENTS_URL = /\/web\/events$/;

// Loaded on demand, by a specifier the type check does not follow: the bundle is minified
// third-party code, left out of `make lint` like the rest of vendor/.
const SDK_MODULE = "./vendor/opentelemetry-web.min.js";

/** @type {any} */
let otel = null;

export function otlpTracesUrl() {
  return document.querySelector('meta[name="onehub-otlp-traces"]')?.getAttribute("content")?.trim() || "";
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Load and start the SDK; must finish before the page adds its event listeners, which the
// user-interaction instrumentation wraps. Never throws: without it the page works untraced.
export async function startTracing() {
  const url = otlpTracesUrl();
  if (!url) return false;
  try {
    otel = await import(SDK_MODULE);
    const exporter = new otel.OTLPTraceExporter({ url });
    const provider = new otel.WebTracerProvider({
      resource: otel.resourceFromAttributes({ "service.name": SERVICE_NAME }),
      spanProcessors: [new otel.BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
    });
    provider.register();
    otel.registerInstrumentations({
      tracerProvider: provider,
      instrumentations: [
        new otel.DocumentLoadInstrumentation(),
        new otel.FetchInstrumentation({
          // The API is on the page's own origin (where traceparent goes anyway); named here so
          // it still goes if the API moves behind another origin of the same site.
          propagateTraceHeaderCorsUrls: [new RegExp(`^${escapeRegExp(location.origin)}/`)],
          ignoreUrls: [EVENTS_URL, new RegExp(`^${escapeRegExp(url)}`)],
          clearTimingResources: true,
        }),
        new otel.UserInteractionInstrumentation({ eventNames: ["click", "submit"] }),
      ],
    });
    // Spans of the last moments would otherwise wait for a batch that never comes.
    addEventListener("pagehide", () => provider.forceFlush());
    return true;
  } catch (error) {
    console.warn("tracing in the browser is off:", error);
    otel = null;
    return false;
  }
}

// One person's action, e.g. "Send message": a span under the interaction that caused it (when
// the action starts inside its event listener), in whose context the action's calls run.
// `traceId` is the trace of its last call (from the traceresponse header), for the trace link.
/**
 * @typedef {{name: string, traceId: string | null, ms: number,
 *   run: <T>(fn: () => T) => T, end: (error?: any) => void}} Action
 */

/**
 * @param {string} name
 * @returns {Action}
 */
export function startAction(name) {
  const started = performance.now();
  /** @type {Action} */
  const action = { name, traceId: null, ms: 0, run: (fn) => fn(), end: () => {} };
  let span = null;
  if (otel) {
    span = otel.trace.getTracer(SERVICE_NAME).startSpan(name, {}, otel.context.active());
    const ctx = otel.trace.setSpan(otel.context.active(), span);
    action.run = (fn) => otel.context.with(ctx, fn);
    action.traceId = span.spanContext().traceId;
  }
  action.end = (error) => {
    action.ms = Math.round(performance.now() - started);
    if (!span) return;
    if (error) span.setStatus({ code: otel.SpanStatusCode.ERROR, message: String(error.message || error) });
    span.end();
  };
  return action;
}
