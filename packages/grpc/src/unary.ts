/**
 * Unary handlers from async functions: the result, or the ChatError as the call's status, goes
 * to grpc-js's callback; the call's AbortSignal and the caller's principal come in, the caller's
 * trace context (`traceparent` metadata) is the parent of a turn it starts.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Access, ChatError, withTraceContext } from '@gtp/core';
import { cancelSignal } from './cancel.ts';
import type { InFlight } from './in-flight.ts';
import { accessOf } from './interceptors.ts';
import { toServiceError } from './status.ts';

export type UnaryRun<Req, Res> = (request: Req, signal: AbortSignal, caller: Access) => Promise<Res>;
export type Unary = <Req, Res>(run: UnaryRun<Req, Res>) => grpc.handleUnaryCall<Req, Res>;

/** `unary(run)` for one server: each call tracked in `inFlight` (shutdown waits), failures through `fail`. */
export function unaryHandlers(
  inFlight: InFlight,
  fail: (call: grpc.ServerUnaryCall<unknown, unknown>, error: unknown) => ChatError,
): Unary {
  return (run) => (call, callback) => {
    const signal = cancelSignal(call);
    // async: a `run` that throws before its first await still answers with its status code.
    inFlight
      .track(withTraceContext(call.metadata.getMap(), async () => run(call.request, signal, accessOf(call))))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(fail(call, error))),
      );
  };
}

/** Every RPC that names a session requires it: an empty one is INVALID_ARGUMENT. */
export function requireSessionId(sessionId: string): string {
  if (!sessionId) throw new ChatError('invalid_request', 'session_id is required');
  return sessionId;
}
