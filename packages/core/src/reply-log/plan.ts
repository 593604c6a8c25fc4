/** What a log does the same in memory and in Redis: numbering, the final event, the replay plan. */
import type { ChatEvent, DoneEvent, ErrorEvent, StartEvent } from '../events.ts';
import type { LoggedEvent, ReplyListener } from './types.ts';

/** Lets timers and I/O run before a pump goes on. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An event of reply `messageId` as the log keeps it. */
export function logged(seq: number, event: ChatEvent, messageId: string): LoggedEvent {
  return { seq, type: event.type, messageId, data: JSON.stringify(event) };
}

/** True for the event type that ends a reply. */
export function isFinalType(type: string): boolean {
  return type === 'done' || type === 'error';
}

/** True for the event that ends a reply. */
export function isFinal(event: ChatEvent): event is DoneEvent | ErrorEvent {
  return isFinalType(event.type);
}

/** The ChatError-shaped event a pump publishes when the reply itself threw (it should not). */
export function pumpFailure(start: StartEvent, error: unknown): ErrorEvent {
  return {
    type: 'error',
    messageId: start.messageId,
    error: { code: 'internal', message: error instanceof Error ? error.message : String(error) },
  };
}

/** The messageId of the reply a logged event belongs to. */
export function messageIdOf(item: LoggedEvent): string {
  return item.messageId;
}

/**
 * What a new listener is sent before the live events, from the events a session still keeps
 * (oldest first; the newest event is always kept):
 * - `after` undefined (a fresh connection, a reloaded page): the reply in flight from its
 *   `start`, if any;
 * - `after` inside the log: exactly the events after it (nothing when it is the newest);
 * - `after` older than the log, or newer than anything published (the log was lost, or the
 *   server restarted): a reset, then the reply in flight from its start.
 */
export function replayPlan(
  kept: readonly LoggedEvent[],
  after: number | undefined,
  bound: number,
): { reset?: string; events: readonly LoggedEvent[] } {
  const newestSeq = kept.at(-1)?.seq ?? 0;
  if (after === undefined) return { events: inFlight(kept) };
  if (after === newestSeq) return { events: [] };
  const oldestSeq = kept[0]?.seq ?? newestSeq + 1;
  if (after < newestSeq && after + 1 >= oldestSeq) {
    return { events: kept.filter((item) => item.seq > after) };
  }
  const reset =
    after > newestSeq
      ? `event ${after} is unknown here (the server may have restarted)`
      : `event ${after} is older than the ${bound} events kept for resume`;
  return { reset, events: inFlight(kept) };
}

/**
 * The events of the reply in flight (the newest is not final), from its `start`; none when its
 * start is no longer kept (a reply longer than the log): only its history will have it whole.
 */
export function inFlight(kept: readonly LoggedEvent[]): readonly LoggedEvent[] {
  const newest = kept.at(-1);
  if (!newest || isFinalType(newest.type)) return [];
  let from = kept.length - 1;
  while (from > 0 && kept[from]!.type !== 'start') from -= 1;
  return kept[from]!.type === 'start' ? kept.slice(from) : [];
}

/** The messageId of the reply in flight, from the events kept. */
export function inFlightMessageId(kept: readonly LoggedEvent[]): string | undefined {
  const newest = kept.at(-1);
  return newest && !isFinalType(newest.type) ? messageIdOf(newest) : undefined;
}

/** Hand a listener its replay: the reset (if any), the events, then `caughtUp`. */
export function replay(
  listener: ReplyListener,
  kept: readonly LoggedEvent[],
  after: number | undefined,
  bound: number,
): void {
  const plan = replayPlan(kept, after, bound);
  if (plan.reset) listener.reset(kept.at(-1)?.seq ?? 0, plan.reset, plan.events.length > 0);
  for (const item of plan.events) listener.send(item);
  listener.caughtUp?.(inFlightMessageId(kept));
}
