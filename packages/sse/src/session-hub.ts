/**
 * The hub behind the SSE stream: what makes `Last-Event-ID` resume work.
 *
 * For each session it holds:
 * - a sequence: every event published gets the next id (1, 2, 3…), the `id:` of its frame;
 * - a bounded log of the most recent events, so a listener that reconnects with
 *   `Last-Event-ID: n` is sent exactly the events after n;
 * - the listeners (every open EventSource of the session: tabs, devices);
 * - the reply in flight, pumped from `chat.reply()` into the log. It is driven by the POST that
 *   started it, never by a GET: a listener that disconnects does not stop it.
 *
 * `EventHub` is the interface the server relies on. Two implementations sit behind it:
 * `MemoryEventHub` below (one process: a ring buffer per session) and `RedisEventHub`
 * (src/redis-hub.ts: a Redis Stream per session, so that any instance can resume any stream).
 */
import type { ChatEvent, DoneEvent, ErrorEvent, StartEvent } from '@gtp/core';

/** An event as the hub keeps it: its sequence number, its type and its JSON, serialised once. */
export interface SequencedEvent {
  id: number;
  /** The ChatEvent's type: the frame's `event:` field. */
  type: ChatEvent['type'];
  /** The ChatEvent as JSON: the frame's `data:` field, shared by every listener and the log. */
  data: string;
}

/** Someone reading the session's events. The hub never waits for a listener. */
export interface HubListener {
  /** Deliver one event. Must return at once (queue it, write it, or drop the listener). */
  send(item: SequencedEvent): void;
  /**
   * The listener's place is lost (older than the log, or unknown): it must reload the history.
   * `replaying`: the reply in flight follows from its start; false when no reply is running.
   */
  reset(latestId: number, reason: string, replaying: boolean): void;
  /** The hub is done with this listener (server shutdown, `drop()`, the session deleted). */
  close(): void;
}

export interface EventHub {
  /**
   * Add a listener to a session. First it is sent what it missed, then it receives live events
   * (see `replayPlan` for what "missed" means). Resolves with the function that removes it.
   */
  subscribe(sessionId: string, listener: HubListener, lastEventId?: number): Promise<() => void>;
  /**
   * Run a reply into the session's log: its `start` (already pulled by the caller, which used it
   * to answer the POST) and every further event until `done` or `error`. Nobody needs to await
   * it for the reply to go on; `close()` waits for it at shutdown.
   */
  pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<void>;
  /** End the session's streams on this instance (each EventSource reconnects and resumes). */
  drop(sessionId: string): number;
  /** The session was deleted: end its streams and forget its events. */
  delete(sessionId: string): Promise<void>;
  /** Shutdown: let the replies in flight publish their final event, then end every stream. */
  close(): Promise<void>;
}

/** 1024 events cover a long reply (one event per token) plus the turns around it. */
export const DEFAULT_BUFFER_SIZE = 1024;

/**
 * A reply from a fast model (zero delay, a cache, a replay) never waits for I/O, so its whole
 * pump would run in one turn of the event loop: other sessions, heartbeats and new requests
 * would wait, and the socket would get the reply in one piece at the end instead of while it is
 * produced. The pump gives the event loop a turn after this many events.
 */
export const EVENTS_PER_TURN = 32;

/** Lets timers and I/O run before the pump goes on. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function sequenced(id: number, event: ChatEvent): SequencedEvent {
  return { id, type: event.type, data: JSON.stringify(event) };
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

/**
 * What a new listener is sent before the live events, from the events a session still keeps
 * (oldest first; the newest event is always kept):
 * - `lastEventId` undefined (a fresh connection): the reply in flight from its `start`, if any;
 * - `lastEventId` inside the log: exactly the events after it (nothing when it is the newest);
 * - `lastEventId` older than the log, or newer than anything published (the log was lost, or
 *   the server restarted): a reset, then the reply in flight from its start.
 */
export function replayPlan(
  kept: readonly SequencedEvent[],
  lastEventId: number | undefined,
  bufferSize: number,
): { reset?: string; events: readonly SequencedEvent[] } {
  const newestId = kept.at(-1)?.id ?? 0;
  if (lastEventId === undefined) return { events: inFlight(kept) };
  if (lastEventId === newestId) return { events: [] };
  const oldestId = kept[0]?.id ?? newestId + 1;
  if (lastEventId < newestId && lastEventId + 1 >= oldestId) {
    return { events: kept.filter((item) => item.id > lastEventId) };
  }
  const reset =
    lastEventId > newestId
      ? `event ${lastEventId} is unknown here (the server may have restarted)`
      : `event ${lastEventId} is older than the ${bufferSize} events kept for resume`;
  return { reset, events: inFlight(kept) };
}

/** The events of the reply in flight (the newest is not final), from its `start`. */
function inFlight(kept: readonly SequencedEvent[]): readonly SequencedEvent[] {
  const newest = kept.at(-1);
  if (!newest || isFinalType(newest.type)) return [];
  let from = kept.length - 1;
  while (from > 0 && kept[from]!.type !== 'start') from -= 1;
  return kept.slice(from);
}

/** One session in one process: a ring buffer of its recent events and its listeners. */
class SessionLog {
  readonly #ring: (SequencedEvent | undefined)[];
  /** Where the next event goes in the ring; it overwrites the oldest once the ring is full. */
  #next = 0;
  #count = 0;
  #lastId = 0;
  readonly listeners = new Set<HubListener>();
  pumping: Promise<void> | undefined;

  constructor(bufferSize: number) {
    this.#ring = new Array(bufferSize);
  }

  /** The events kept, oldest first. */
  kept(): SequencedEvent[] {
    const size = this.#ring.length;
    const out: SequencedEvent[] = [];
    for (let i = this.#count; i > 0; i--) out.push(this.#ring[(this.#next - i + size) % size]!);
    return out;
  }

  /** Give the event the next id, keep it, and hand it to every listener. */
  publish(event: ChatEvent): void {
    this.#lastId += 1;
    const item = sequenced(this.#lastId, event);
    this.#ring[this.#next] = item;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
    // A listener removed while we iterate (a slow one dropped) is skipped by the Set.
    for (const listener of this.listeners) listener.send(item);
  }

  drop(): number {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.close();
    return listeners.length;
  }
}

/** The hub of a single server process: every session's log in memory. */
export class MemoryEventHub implements EventHub {
  readonly #logs = new Map<string, SessionLog>();
  readonly #bufferSize: number;

  constructor(options: { bufferSize?: number } = {}) {
    this.#bufferSize = Math.max(1, options.bufferSize ?? DEFAULT_BUFFER_SIZE);
  }

  async subscribe(sessionId: string, listener: HubListener, lastEventId?: number): Promise<() => void> {
    const log = this.#log(sessionId);
    // Replay and subscription in one synchronous step: no event can fall between them.
    const kept = log.kept();
    const plan = replayPlan(kept, lastEventId, this.#bufferSize);
    if (plan.reset) listener.reset(kept.at(-1)?.id ?? 0, plan.reset, plan.events.length > 0);
    for (const item of plan.events) listener.send(item);
    log.listeners.add(listener);
    return () => {
      log.listeners.delete(listener);
    };
  }

  pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<void> {
    const log = this.#log(sessionId);
    if (log.pumping) throw new Error(`session ${sessionId} already has a reply in flight`);
    log.publish(start);
    const run = async () => {
      try {
        for (let sent = 1; ; sent++) {
          if (sent % EVENTS_PER_TURN === 0) await nextTurn();
          const step = await rest.next();
          if (step.done) break;
          log.publish(step.value);
        }
      } catch (error) {
        // ChatService turns failures into an error event; this is the belt to those braces.
        log.publish(pumpFailure(start, error));
      } finally {
        log.pumping = undefined;
      }
    };
    log.pumping = run();
    return log.pumping;
  }

  drop(sessionId: string): number {
    return this.#logs.get(sessionId)?.drop() ?? 0;
  }

  async delete(sessionId: string): Promise<void> {
    this.drop(sessionId);
    this.#logs.delete(sessionId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#logs.values()].map((log) => log.pumping));
    for (const log of this.#logs.values()) log.drop();
  }

  #log(sessionId: string): SessionLog {
    let log = this.#logs.get(sessionId);
    if (!log) {
      log = new SessionLog(this.#bufferSize);
      this.#logs.set(sessionId, log);
    }
    return log;
  }
}
