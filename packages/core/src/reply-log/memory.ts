/**
 * The reply log of a single server process: per session, a ring buffer of its recent events and
 * its listeners. A session is forgotten when it is deleted, or once its newest event is older
 * than `idleMs` (the session's TTL) and no reply runs in it: expired sessions do not pile up.
 */
import type { ChatEvent, StartEvent } from '../events.ts';
import { isFinal, logged, nextTurn, pumpFailure, replay } from './plan.ts';
import {
  DEFAULT_REPLY_LOG_IDLE_MS,
  DEFAULT_REPLY_LOG_SIZE,
  EVENTS_PER_TURN,
  type LoggedEvent,
  type PumpHandle,
  type ReplyListener,
  type ReplyLog,
} from './types.ts';

export interface MemoryReplyLogOptions {
  /** Events kept per session for resume. */
  size?: number;
  /** Forget a session whose newest event is older than this (0: DEFAULT_REPLY_LOG_IDLE_MS). */
  idleMs?: number;
  /**
   * Whether the session still exists: a session idle past `idleMs` that still has listeners is
   * only ended when it is gone (it may have been kept alive by turns that were not logged).
   */
  exists?: (sessionId: string) => Promise<boolean>;
}

/** One session in one process. */
class SessionLog {
  readonly #ring: (LoggedEvent | undefined)[];
  /** Where the next event goes in the ring; it overwrites the oldest once the ring is full. */
  #next = 0;
  #count = 0;
  #lastSeq = 0;
  /** Date.now() of the newest event (or of the log's creation). */
  touchedAt = Date.now();
  readonly listeners = new Set<ReplyListener>();
  pumping: Promise<void> | undefined;

  constructor(size: number) {
    this.#ring = new Array(size);
  }

  /** The events kept, oldest first. */
  kept(): LoggedEvent[] {
    const size = this.#ring.length;
    const out: LoggedEvent[] = [];
    for (let i = this.#count; i > 0; i--) out.push(this.#ring[(this.#next - i + size) % size]!);
    return out;
  }

  /** Give the event the next sequence number, keep it, and hand it to every listener. */
  publish(event: ChatEvent, messageId: string): number {
    this.#lastSeq += 1;
    const item = logged(this.#lastSeq, event, messageId);
    this.#ring[this.#next] = item;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
    this.touchedAt = Date.now();
    // A listener removed while we iterate (a slow one dropped) is skipped by the Set.
    for (const listener of this.listeners) listener.send(item);
    return item.seq;
  }

  drop(): number {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.close();
    return listeners.length;
  }
}

export class MemoryReplyLog implements ReplyLog {
  readonly kind = 'memory' as const;
  readonly #logs = new Map<string, SessionLog>();
  readonly #size: number;
  readonly #idleMs: number;
  readonly #exists: ((sessionId: string) => Promise<boolean>) | undefined;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryReplyLogOptions = {}) {
    this.#size = Math.max(1, options.size ?? DEFAULT_REPLY_LOG_SIZE);
    this.#idleMs = options.idleMs || DEFAULT_REPLY_LOG_IDLE_MS;
    this.#exists = options.exists;
    // Sweep a few times per idle period, at least once a minute, at most once a 100 ms.
    const everyMs = Math.max(100, Math.min(this.#idleMs / 4, 60_000));
    this.#sweeper = setInterval(() => void this.sweep(), everyMs).unref();
  }

  /** Sessions this log holds events or listeners for. */
  get size(): number {
    return this.#logs.size;
  }

  async subscribe(sessionId: string, listener: ReplyListener, after?: number): Promise<() => void> {
    const log = this.#log(sessionId);
    // Replay and subscription in one synchronous step: no event can fall between them.
    replay(listener, log.kept(), after, this.#size);
    log.listeners.add(listener);
    return () => {
      log.listeners.delete(listener);
    };
  }

  async pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<PumpHandle> {
    const log = this.#log(sessionId);
    if (log.pumping) throw new Error(`session ${sessionId} already has a reply in flight`);
    const seq = log.publish(start, start.messageId);
    const run = async () => {
      try {
        for (let sent = 1; ; sent++) {
          if (sent % EVENTS_PER_TURN === 0) await nextTurn();
          const step = await rest.next();
          if (step.done) break;
          log.publish(step.value, start.messageId);
          if (isFinal(step.value)) break;
        }
      } catch (error) {
        // ChatService turns failures into an error event; this is the belt to those braces.
        log.publish(pumpFailure(start, error), start.messageId);
      } finally {
        await rest.return?.(undefined).catch(() => undefined);
        log.pumping = undefined;
      }
    };
    log.pumping = run();
    return { seq, finished: log.pumping };
  }

  drop(sessionId: string): number {
    return this.#logs.get(sessionId)?.drop() ?? 0;
  }

  async delete(sessionId: string): Promise<void> {
    this.drop(sessionId);
    this.#logs.delete(sessionId);
  }

  async settle(): Promise<void> {
    await Promise.all([...this.#logs.values()].map((log) => log.pumping));
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.settle();
    for (const log of this.#logs.values()) log.drop();
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Forget the sessions idle past `idleMs` (ending their listeners when the session is gone). */
  async sweep(now = Date.now()): Promise<void> {
    for (const [sessionId, log] of [...this.#logs]) {
      if (log.pumping || now - log.touchedAt <= this.#idleMs) continue;
      if (log.listeners.size > 0 && this.#exists && (await this.#exists(sessionId).catch(() => true))) {
        log.touchedAt = now;
        continue;
      }
      if (this.#logs.get(sessionId) !== log) continue;
      this.#logs.delete(sessionId);
      log.drop();
    }
  }

  #log(sessionId: string): SessionLog {
    let log = this.#logs.get(sessionId);
    if (!log) {
      log = new SessionLog(this.#size);
      this.#logs.set(sessionId, log);
    }
    return log;
  }
}
