/**
 * Cancellation as an AbortSignal: the signal of a call fires when its client goes away (it
 * cancelled, its deadline passed, or the connection died). SendMessage and Chat stop the model on
 * it; StreamMessage only stops reading and leaves the reply its resume grace (core's ResumeGraces)
 * unless the deadline passed (deadlineIn). grpc-js reports a closed call as `cancelled`, but
 * sometimes only as the call closing early (grpc-node#2583), so both are handled.
 */
import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { abortReason } from '@gtp/core';

type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

export function cancelSignal(call: AnyCall): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted) controller.abort(abortReason('the client cancelled the call'));
  };
  const emitter: EventEmitter = call;
  emitter.once('cancelled', abort);
  // A stream that closes while we still owe it messages was cancelled, whatever the event said.
  if (call instanceof Writable) call.once('close', () => (call.writableFinished ? undefined : abort()));
  return controller.signal;
}

/** Milliseconds until the call's deadline: ≤ 0 once it passed (a limit, not a lost connection), Infinity without one. */
export function deadlineIn(call: AnyCall): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : Number.POSITIVE_INFINITY;
}
