/**
 * Cancellation as an AbortSignal: the signal of a call fires when its client goes away (it
 * cancelled, its deadline passed, or the connection died), and ChatService.reply() stops the
 * model on it. grpc-js reports that as `cancelled`, but sometimes only as the call closing early
 * (grpc-node#2583), so both are handled.
 */
import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { abortReason, ChatError } from '@gtp/core';

type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

export function cancelSignal(call: AnyCall): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted)
      controller.abort(abortReason('the client cancelled the call'));
  };
  const emitter: EventEmitter = call;
  emitter.once('cancelled', abort);
  // A stream that closes while we still owe it messages was cancelled, whatever the event said.
  if (call instanceof Writable) call.once('close', () => (call.writableFinished ? undefined : abort()));
  return controller.signal;
}
