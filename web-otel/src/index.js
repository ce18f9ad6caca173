// The OpenTelemetry web SDK as the chat page uses it, bundled into one ES module by
// scripts/build_web_otel.sh. Only names are re-exported here; the page's own
// static/js/telemetry.js decides what to switch on, so changing that needs no rebuild.

export { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
export { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
export { registerInstrumentations } from "@opentelemetry/instrumentation";
export { DocumentLoadInstrumentation } from "@opentelemetry/instrumentation-document-load";
export { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
export { UserInteractionInstrumentation } from "@opentelemetry/instrumentation-user-interaction";
export { resourceFromAttributes } from "@opentelemetry/resources";
export { BatchSpanProcessor, StackContextManager, WebTracerProvider } from "@opentelemetry/sdk-trace-web";
