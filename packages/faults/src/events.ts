/**
 * What the fault suite reads from every transport, in one shape: the core ChatEvents, where an
 * error also says how the transport carried it (an HTTP status, a gRPC status code, a header).
 */
import { AsyncQueue, type ChatEvent, type ErrorEvent, type QueueWaitOptions } from '@gtp/core';

/** An `error` event, or a refusal before the stream (a status, an `error` frame, a gRPC status). */
export interface FaultError extends ErrorEvent {
  /** The HTTP status of a refused request or upgrade. */
  httpStatus?: number;
  /** The gRPC status code of a failed call. */
  grpcCode?: number;
  /** The `retry-after` header (HTTP) when there was one. */
  retryAfter?: string;
}

export type FaultEvent = Exclude<ChatEvent, ErrorEvent> | FaultError;

export const isFinal = (event: FaultEvent): boolean => event.type === 'done' || event.type === 'error';

/** An error that a request-response call (create a session, read the history…) came back with. */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly grpcCode: number | undefined;

  constructor(code: string, message: string, where: { httpStatus?: number; grpcCode?: number } = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.httpStatus = where.httpStatus;
    this.grpcCode = where.grpcCode;
  }
}

/**
 * A queue of events with a bounded wait: a transport pushes what it reads, a test pulls. Every
 * wait has a time limit, so a server that never answers fails the test instead of hanging it.
 */
export class EventQueue extends AsyncQueue<FaultEvent> {
  /** The next event; undefined once the stream has ended. Throws after `timeoutMs`. */
  override next(timeoutMs: number | QueueWaitOptions = WAIT_MS): Promise<FaultEvent | undefined> {
    return super.next(typeof timeoutMs === 'number' ? { timeoutMs } : timeoutMs);
  }

  /** Events until (and including) the first of the given type. */
  async until(type: FaultEvent['type'], timeoutMs = WAIT_MS): Promise<FaultEvent[]> {
    const seen: FaultEvent[] = [];
    for (;;) {
      const event = await this.next(timeoutMs);
      if (!event) throw new Error(`stream ended before a ${type} event (got ${types(seen)})`);
      seen.push(event);
      if (event.type === type) return seen;
      if (isFinal(event)) throw new Error(`stream ended with ${JSON.stringify(event)} before a ${type}`);
    }
  }

  /** Every event until the final one (`done` or `error`), or until the stream ends. */
  async rest(timeoutMs = WAIT_MS): Promise<FaultEvent[]> {
    const seen: FaultEvent[] = [];
    for (;;) {
      const event = await this.next(timeoutMs);
      if (!event) return seen;
      seen.push(event);
      if (isFinal(event)) return seen;
    }
  }
}

export const types = (events: readonly FaultEvent[]): string => events.map((e) => e.type).join(',');

/** How long any single wait in the suite may take before the test fails. */
export const WAIT_MS = 10_000;
