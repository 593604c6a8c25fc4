import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import { ChatError } from './errors.ts';
import type { ChatEvent } from './events.ts';
import type { Stats } from './stats.ts';
import {
  extractTraceContext,
  FIRST_TOKEN_EVENT,
  failSpan,
  type TraceCarrier,
  TURN_SPAN_NAME,
  tracer,
  tracingPending,
  tracingStarted,
} from './tracing.ts';

/**
 * One turn's telemetry around ChatService's turn: a `chat.turn` span (a child of the caller's
 * trace context), in which the turn runs so that the model call is its child; the first token as
 * an event; the output tokens counted for /metrics. The events pass through unchanged, and so do
 * the errors thrown before `start` and the consumer's `return()`.
 *
 * The parent is taken when the turn is asked for (`carrier`, else the active context, which the
 * HTTP servers set from the request headers), not when it is first read.
 */
export function instrumentTurn(
  stats: Stats,
  protocol: string,
  sessionId: string,
  carrier: TraceCarrier | undefined,
  run: () => AsyncGenerator<ChatEvent, void>,
): AsyncGenerator<ChatEvent, void> {
  return turn(stats, protocol, sessionId, carrier, context.active(), run);
}

async function* turn(
  stats: Stats,
  protocol: string,
  sessionId: string,
  carrier: TraceCarrier | undefined,
  base: Context,
  run: () => AsyncGenerator<ChatEvent, void>,
): AsyncGenerator<ChatEvent, void> {
  // The OpenTelemetry SDK loads on demand: the first turns after start wait for it.
  if (tracingPending()) await tracingStarted();
  const parent = extractTraceContext(carrier, base);
  const span = tracer().startSpan(
    TURN_SPAN_NAME,
    { kind: SpanKind.SERVER, attributes: { 'gtp.protocol': protocol, 'gtp.session.id': sessionId } },
    parent,
  );
  const inTurn = trace.setSpan(parent, span);
  const events = context.with(inTurn, run);
  let deltas = 0;
  try {
    for (;;) {
      // Each step runs in the turn's context: the model call made inside it is the turn's child.
      const step = await context.with(inTurn, () => events.next());
      if (step.done) return;
      const event = step.value;
      switch (event.type) {
        case 'start':
          span.setAttribute('gtp.message.id', event.messageId);
          break;
        case 'delta':
          if (deltas++ === 0) span.addEvent(FIRST_TOKEN_EVENT);
          break;
        case 'done':
          span.setAttributes({
            'gtp.finish_reason': event.finishReason,
            'gtp.ttft_ms': event.timings.ttftMs,
            'gen_ai.usage.output_tokens': event.usage.outputTokens,
          });
          stats.recordOutputTokens(event.usage.outputTokens);
          break;
        case 'error':
          failSpan(span, event.error);
          break;
      }
      yield event;
    }
  } catch (error) {
    // Thrown before `start` (bad input, unknown or busy session, the server's limit).
    if (error instanceof ChatError) failSpan(span, error.toJSON());
    else span.recordException(error instanceof Error ? error : String(error));
    throw error;
  } finally {
    await context.with(inTurn, () => events.return()).catch(() => undefined);
    span.end();
  }
}
