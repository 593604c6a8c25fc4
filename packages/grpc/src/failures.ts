/**
 * A failed call (or a failed turn on a Chat stream), reported once: counted in the stats by its
 * code, logged with its cause, the method and the caller's principal (server faults at error,
 * the client's own mistakes at info), and handed back as the ChatError whose status ends the
 * call. A reply's error event was already counted and logged by ChatService (with its cause):
 * `fromReply()` marks it, so that it is not reported twice.
 */
import type * as grpc from '@grpc/grpc-js';
import { ChatError, type ChatEvent, type Logger, type Stats } from '@gtp/core';
import { accessOf } from './interceptors.ts';

/** What a failure report needs of a call: its method and the metadata its Access hangs on. */
export interface CallInfo {
  readonly metadata: grpc.Metadata;
  getPath(): string;
}

export interface CallFailures {
  fail(call: CallInfo, error: unknown): ChatError;
  /** A reply's `error` event as a ChatError, already counted and logged by ChatService. */
  fromReply(event: Extract<ChatEvent, { type: 'error' }>): ChatError;
}

export function callFailures(stats: Pick<Stats, 'recordError'>, logger: Logger): CallFailures {
  const reportedByChat = new WeakSet<ChatError>();
  return {
    fail(call, error) {
      const failure = ChatError.from(error);
      if (reportedByChat.has(failure)) return failure;
      stats.recordError(failure.code);
      const fields = { method: call.getPath(), principal: accessOf(call).principal, code: failure.code };
      if (failure.httpStatus >= 500) logger.error({ ...fields, err: error }, failure.message);
      else logger.info({ ...fields, err: error }, failure.message);
      return failure;
    },
    fromReply(event) {
      const failure = ChatError.fromBody(event.error);
      reportedByChat.add(failure);
      return failure;
    },
  };
}
