/**
 * The per-session hub behind the SSE stream: what makes `Last-Event-ID` resume work.
 *
 * A hub holds, for one session:
 * - a sequence counter: every event published gets the next id (1, 2, 3…), the `id:` of its frame;
 * - a bounded buffer of the most recent events, so a listener that reconnects with
 *   `Last-Event-ID: n` is sent exactly the events after n;
 * - the set of listeners (every open EventSource of the session: tabs, devices);
 * - the reply in flight, pumped from `chat.reply()` into the hub. It is driven by the POST that
 *   started it, never by a GET: a listener that disconnects does not stop it.
 *
 * The buffer is the part a multi-instance deployment replaces (a Redis Stream gives ids, the
 * bounded log and `XREAD` after an id); the interface below is what the server relies on.
 */
import type { ChatEvent, DoneEvent, ErrorEvent, StartEvent } from '@gtp/core';

/** An event with its per-session sequence number. */
export interface SequencedEvent {
  id: number;
  event: ChatEvent;
}

/** Someone reading the session's events. The hub never waits for a listener. */
export interface HubListener {
  /** Deliver one event. Must return at once (queue it, write it, or drop the listener). */
  send(item: SequencedEvent): void;
  /** The listener's place is lost (older than the buffer, or unknown): it must reload the history. */
  reset(latestId: number, reason: string): void;
  /** The hub is done with this listener (server shutdown, `drop()`, the session deleted). */
  close(): void;
}

export interface SessionHubOptions {
  /** How many recent events are kept for resume. */
  bufferSize: number;
}

/** 1024 events cover a long reply (one event per token) plus the turns around it. */
export const DEFAULT_BUFFER_SIZE = 1024;

export class SessionHub {
  readonly sessionId: string;
  readonly #bufferSize: number;
  /** Oldest first; at most bufferSize events. */
  readonly #buffer: SequencedEvent[] = [];
  readonly #listeners = new Set<HubListener>();
  #lastId = 0;
  /** Id of the `start` event of the reply in flight, if any. */
  #inFlightStartId: number | undefined;
  #pumping: Promise<void> | undefined;

  constructor(sessionId: string, options: SessionHubOptions = { bufferSize: DEFAULT_BUFFER_SIZE }) {
    this.sessionId = sessionId;
    this.#bufferSize = Math.max(1, options.bufferSize);
  }

  /** The id of the newest event (0: none yet). */
  get lastId(): number {
    return this.#lastId;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** True while a reply is being pumped into the hub. */
  get replying(): boolean {
    return this.#pumping !== undefined;
  }

  /**
   * Add a listener. First it is sent what it missed, then it receives live events.
   * - `lastEventId` undefined (a fresh connection): the reply in flight from its `start`, if any.
   * - `lastEventId` inside the buffer: exactly the events after it (nothing when it is the newest).
   * - `lastEventId` older than the buffer, or newer than anything published (the server
   *   restarted): a reset, then the reply in flight from its start.
   * Replay and subscription happen in one synchronous step, so no event can fall between them.
   * Returns the function that removes the listener.
   */
  subscribe(listener: HubListener, lastEventId?: number): () => void {
    if (lastEventId === undefined) {
      this.#replayInFlight(listener);
    } else if (lastEventId !== this.#lastId) {
      const oldest = this.#buffer[0]?.id ?? this.#lastId + 1;
      if (lastEventId < this.#lastId && lastEventId + 1 >= oldest) {
        for (const item of this.#buffer) if (item.id > lastEventId) listener.send(item);
      } else {
        const reason =
          lastEventId > this.#lastId
            ? `event ${lastEventId} is unknown here (the server may have restarted)`
            : `event ${lastEventId} is older than the ${this.#bufferSize} events kept for resume`;
        listener.reset(this.#lastId, reason);
        this.#replayInFlight(listener);
      }
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Give the event the next id, keep it for resume, and hand it to every listener. */
  publish(event: ChatEvent): SequencedEvent {
    this.#lastId += 1;
    const item = { id: this.#lastId, event };
    this.#buffer.push(item);
    if (this.#buffer.length > this.#bufferSize) this.#buffer.shift();
    if (event.type === 'start') this.#inFlightStartId = item.id;
    // A listener that is closed while we iterate (a slow one dropped) is skipped by the Set.
    for (const listener of [...this.#listeners]) listener.send(item);
    return item;
  }

  /**
   * Run a reply into the hub: publish its `start` (already pulled by the caller, which used it
   * to answer the POST) and then every further event until `done` or `error`. Nobody awaits the
   * result for the reply to go on; `close()` waits for it at shutdown.
   */
  pump(start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<void> {
    if (this.#pumping) throw new Error(`session ${this.sessionId} already has a reply in flight`);
    this.publish(start);
    const run = async () => {
      try {
        for (;;) {
          const step = await rest.next();
          if (step.done) break;
          this.publish(step.value);
        }
      } catch (error) {
        // ChatService turns failures into an error event; this is the belt to those braces.
        const failure: ErrorEvent = {
          type: 'error',
          messageId: start.messageId,
          error: { code: 'internal', message: error instanceof Error ? error.message : String(error) },
        };
        this.publish(failure);
      } finally {
        this.#inFlightStartId = undefined;
        this.#pumping = undefined;
      }
    };
    this.#pumping = run();
    return this.#pumping;
  }

  /** End every listener's stream (each EventSource reconnects by itself and resumes). */
  drop(): number {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener.close();
    return listeners.length;
  }

  /** Shutdown: wait for the reply in flight to publish its final event, then end every stream. */
  async close(): Promise<void> {
    await this.#pumping;
    this.drop();
  }

  #replayInFlight(listener: HubListener): void {
    const startId = this.#inFlightStartId;
    if (startId === undefined) return;
    for (const item of this.#buffer) if (item.id >= startId) listener.send(item);
  }
}

/** The hubs of every session this process has streamed, created on first use. */
export class SessionHubs {
  readonly #hubs = new Map<string, SessionHub>();
  readonly #options: SessionHubOptions;

  constructor(options: SessionHubOptions = { bufferSize: DEFAULT_BUFFER_SIZE }) {
    this.#options = options;
  }

  get(sessionId: string): SessionHub {
    let hub = this.#hubs.get(sessionId);
    if (!hub) {
      hub = new SessionHub(sessionId, this.#options);
      this.#hubs.set(sessionId, hub);
    }
    return hub;
  }

  /** The session was deleted: end its streams and forget its events. */
  delete(sessionId: string): void {
    this.#hubs.get(sessionId)?.drop();
    this.#hubs.delete(sessionId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#hubs.values()].map((hub) => hub.close()));
  }
}

/** True for the event that ends a reply. */
export function isFinal(event: ChatEvent): event is DoneEvent | ErrorEvent {
  return event.type === 'done' || event.type === 'error';
}
