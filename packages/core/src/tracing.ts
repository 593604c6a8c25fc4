import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ErrorBody } from './events.ts';
import type { ModelProvider, ModelStreamOptions, ModelStreamResult } from './model/types.ts';

/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Then every turn is a span
 * (`chat.turn`) with the model call as its child (`model.stream`) and the first token as an event,
 * exported over OTLP/HTTP. A caller's W3C trace context (`traceparent`, `tracestate`) continues
 * through the server: from HTTP headers, gRPC metadata, or the WebSocket `send` frame.
 * Without an endpoint the OpenTelemetry API is a no-op, and this module costs nothing: the SDK,
 * the exporter and the propagator (~250 modules, ~15 MiB) are imported only when tracing starts.
 */

export const TRACER_NAME = 'genai-transports';
/** Span names, so a reader finds them in a trace view. */
export const TURN_SPAN_NAME = 'chat.turn';
export const MODEL_SPAN_NAME = 'model.stream';
export const FIRST_TOKEN_EVENT = 'first_token';

/** Where a trace context can come from: HTTP headers, gRPC metadata, the fields of a frame. */
export type TraceCarrier = Readonly<Record<string, unknown>>;

/** Set once tracing has started: without it there is nothing a caller's context could continue. */
let propagator: W3CTraceContextPropagator | undefined;
const getter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    if (Buffer.isBuffer(value)) return value.toString('latin1');
    return undefined;
  },
};

/** The context a carrier's `traceparent` names, on top of `base`; `base` when it has none or a bad one. */
export function extractTraceContext(
  carrier: TraceCarrier | undefined,
  base: Context = context.active(),
): Context {
  return carrier && propagator ? propagator.extract(base, carrier, getter) : base;
}

/** Run `fn` with the caller's trace context (from a carrier) as the active one. */
export function withTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  return context.with(extractTraceContext(carrier), fn);
}

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

let provider: { endpoint: string; started: Promise<NodeTracerProvider | undefined> } | undefined;

/**
 * Start exporting spans to `otlpEndpoint` (the OTLP/HTTP base URL; spans go to `/v1/traces`,
 * as JSON). Once per process: the first server to start sets it; undefined: tracing stays off.
 * The SDK loads asynchronously: `tracingStarted()` resolves once spans are recorded (a turn
 * waits for it, and `ChatService.create` does before a server listens).
 */
export function startTracing(config: { otlpEndpoint?: string | undefined }, protocol: string): boolean {
  const endpoint = config.otlpEndpoint;
  if (!endpoint) return false;
  if (provider) return true;
  provider = { endpoint, started: registerProvider(endpoint, protocol) };
  return true;
}

async function registerProvider(endpoint: string, protocol: string): Promise<NodeTracerProvider | undefined> {
  try {
    const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk] =
      await Promise.all([
        import('@opentelemetry/core'),
        import('@opentelemetry/exporter-trace-otlp-http'),
        import('@opentelemetry/resources'),
        import('@opentelemetry/sdk-trace-node'),
      ]);
    const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
    const tracerProvider = new sdk.NodeTracerProvider({
      resource: resourceFromAttributes({
        'service.name': process.env.OTEL_SERVICE_NAME ?? `genai-transports-${protocol}`,
      }),
      spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
    });
    // Global: the AsyncLocalStorage context manager and the W3C propagator with it.
    tracerProvider.register();
    propagator = new W3CTraceContextPropagator();
    return tracerProvider;
  } catch (error) {
    console.error(`tracing not started: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Resolves once tracing, if it was started, records spans (at once when it is off). */
export async function tracingStarted(): Promise<void> {
  await provider?.started;
}

/** Whether a turn must wait for tracingStarted() (tracing is starting, not yet started). */
export const tracingPending = (): boolean => provider !== undefined && propagator === undefined;

/** Send the spans still buffered (tests; shutdown). */
export async function flushTracing(): Promise<void> {
  await (await provider?.started)?.forceFlush();
}

/** Mark a span as failed with the error body a turn ended with. */
export function failSpan(span: Span, error: ErrorBody): void {
  span.setAttribute('gtp.error.code', error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
}

/**
 * The model as ChatService sees it, with a `model.stream` span around each call, a child of the
 * span active when the call starts (the turn's). The span ends with the stream.
 */
export function tracedModel(model: ModelProvider): ModelProvider {
  return {
    get info() {
      return model.info;
    },
    stream(history, options?: ModelStreamOptions) {
      const span = tracer().startSpan(MODEL_SPAN_NAME, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.system': model.info.provider,
          'gen_ai.request.model': model.info.id,
          'gtp.history.messages': history.length,
        },
      });
      return spanStream(span, model.stream(history, options));
    },
  };
}

async function* spanStream(
  span: Span,
  inner: AsyncGenerator<string, ModelStreamResult>,
): AsyncGenerator<string, ModelStreamResult> {
  let chunks = 0;
  try {
    for (;;) {
      const step = await inner.next();
      if (step.done) {
        span.setAttribute('gen_ai.response.finish_reasons', [step.value.finishReason]);
        if (step.value.usage) {
          span.setAttribute('gen_ai.usage.input_tokens', step.value.usage.inputTokens);
          span.setAttribute('gen_ai.usage.output_tokens', step.value.usage.outputTokens);
        }
        return step.value;
      }
      if (chunks++ === 0) span.addEvent(FIRST_TOKEN_EVENT);
      yield step.value;
    }
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    throw error;
  } finally {
    span.setAttribute('gtp.chunks', chunks);
    await inner.return(undefined as never).catch(() => undefined);
    span.end();
  }
}
