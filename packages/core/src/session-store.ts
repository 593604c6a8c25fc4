import { randomUUID } from 'node:crypto';
import type { Message } from './events.ts';

/** What a store keeps per session. `Session` (the wire shape) is derived from it. */
export interface SessionRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  messages: Message[];
}

/**
 * Where sessions and their history live. Async from day one, so that a Redis store can
 * implement the same interface for several server instances.
 */
export interface SessionStore {
  /** Where the sessions live, for /health. */
  readonly kind: 'memory' | 'redis';
  create(): Promise<SessionRecord>;
  get(id: string): Promise<SessionRecord | undefined>;
  list(): Promise<SessionRecord[]>;
  /** How many live sessions there are (cheaper than list() for stats). */
  count(): Promise<number>;
  /** False when there was no such session. */
  delete(id: string): Promise<boolean>;
  /** False when there is no such session. */
  appendTurn(id: string, message: Message): Promise<boolean>;
  /** Remove the last turn (a failed reply's user turn). */
  popTurn(id: string): Promise<Message | undefined>;
  /** False when there is no such session. */
  clear(id: string): Promise<boolean>;
  /**
   * Take the session's one reply slot. False when a reply is already running.
   * The lock lives in the store so that two instances sharing a store cannot both reply.
   */
  tryLock(id: string): Promise<boolean>;
  unlock(id: string): Promise<void>;
  /** Whether some instance is replying in this session. */
  isLocked(id: string): Promise<boolean>;
  /** Whether the store answers (for /health); the in-memory store always does. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface MemorySessionStoreOptions {
  /** A session idle (no write) for longer than this is forgotten; 0 = never. */
  ttlMs?: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/** The default store: a Map in this process. Idle sessions expire after `ttlMs`. */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #locks = new Set<string>();
  readonly #ttlMs: number;
  #lastSweep = Date.now();

  constructor(options: MemorySessionStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 0;
  }

  /** The live record, or undefined; an expired one (and not replying) is deleted on the way. */
  #live(id: string): SessionRecord | undefined {
    const record = this.#sessions.get(id);
    if (record && this.#expired(record)) {
      this.#sessions.delete(id);
      return undefined;
    }
    return record;
  }

  #expired(record: SessionRecord): boolean {
    return (
      this.#ttlMs > 0 &&
      !this.#locks.has(record.id) &&
      Date.now() - Date.parse(record.updatedAt) > this.#ttlMs
    );
  }

  /** Forget expired sessions, at most once a minute (amortised over create). */
  #sweep(): void {
    if (this.#ttlMs === 0 || Date.now() - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = Date.now();
    for (const record of this.#sessions.values()) if (this.#expired(record)) this.#sessions.delete(record.id);
  }

  async create(): Promise<SessionRecord> {
    this.#sweep();
    const now = new Date().toISOString();
    const record: SessionRecord = { id: randomUUID(), createdAt: now, updatedAt: now, messages: [] };
    this.#sessions.set(record.id, record);
    return structuredClone(record);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const record = this.#live(id);
    return record && structuredClone(record);
  }

  async list(): Promise<SessionRecord[]> {
    return [...this.#sessions.values()]
      .filter((r) => this.#live(r.id))
      .map((record) => structuredClone(record));
  }

  async count(): Promise<number> {
    let live = 0;
    for (const id of this.#sessions.keys()) if (this.#live(id)) live += 1;
    return live;
  }

  async delete(id: string): Promise<boolean> {
    this.#locks.delete(id);
    return this.#sessions.delete(id);
  }

  async appendTurn(id: string, message: Message): Promise<boolean> {
    const record = this.#live(id);
    if (!record) return false;
    record.messages.push({ ...message });
    record.updatedAt = new Date().toISOString();
    return true;
  }

  async popTurn(id: string): Promise<Message | undefined> {
    const record = this.#sessions.get(id);
    const last = record?.messages.pop();
    if (record && last) record.updatedAt = new Date().toISOString();
    return last;
  }

  async clear(id: string): Promise<boolean> {
    const record = this.#live(id);
    if (!record) return false;
    record.messages = [];
    record.updatedAt = new Date().toISOString();
    return true;
  }

  async tryLock(id: string): Promise<boolean> {
    if (this.#locks.has(id)) return false;
    this.#locks.add(id);
    return true;
  }

  async unlock(id: string): Promise<void> {
    this.#locks.delete(id);
  }

  async isLocked(id: string): Promise<boolean> {
    return this.#locks.has(id);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
    this.#locks.clear();
  }
}
