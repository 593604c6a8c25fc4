import { randomUUID } from 'node:crypto';
import type { Message } from './events.ts';

/** What a store keeps per session. `Session` (the wire shape) is derived from it. */
export interface SessionRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  messages: Message[];
  /** The principal that created the session (absent: a session of before owners, `anonymous`'s). */
  owner?: string;
  /** Principals the owner has invited (`share`): they may read, send and cancel, not delete or invite. */
  members?: string[];
}

/** A session as a listing shows it: no history, only its length. */
export interface SessionSummary {
  id: string;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
}

/** One page of a principal's sessions, oldest first; `nextCursor` when there are more. */
export interface SessionPage {
  sessions: SessionSummary[];
  nextCursor?: string;
}

export interface PageRequest {
  limit: number;
  /** The `nextCursor` of the previous page (opaque to callers). */
  cursor?: string | undefined;
}

/** The owner of a record (`anonymous` for a record stored before sessions had owners). */
export function ownerOf(record: Pick<SessionRecord, 'owner'>): string {
  return record.owner ?? 'anonymous';
}

/** The order of a listing and its cursor: creation time, then id (both fixed for a session's life). */
export function pageKey(record: { createdAt: string; id: string }): string {
  return `${record.createdAt}|${record.id}`;
}

/**
 * Where sessions and their history live. Async from day one, so that a Redis store can
 * implement the same interface for several server instances.
 */
export interface SessionStore {
  /** Where the sessions live, for /health. */
  readonly kind: 'memory' | 'redis';
  /** A new session owned by `owner` (default `anonymous`). */
  create(owner?: string): Promise<SessionRecord>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Every session with its history (tests, maintenance); listings use `page()`. */
  list(): Promise<SessionRecord[]>;
  /** The sessions `principal` owns or was invited to, one page, without loading any history. */
  page(principal: string, request: PageRequest): Promise<SessionPage>;
  /** Invite `principal` into the session. False when there is no such session. */
  addMember(id: string, principal: string): Promise<boolean>;
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
  /**
   * Start a turn, atomically: take the session's reply lock, drop a user turn left dangling at
   * the end of the history by a holder that died (under the lock nobody else is replying, so a
   * trailing user turn can only be an orphan), append the new user turn, and return the history
   * as it is now, under the lock. `onLockLost` is called if the lock is lost while held (it
   * expired while Redis was away, or the session was deleted).
   */
  beginTurn(id: string, user: Message, options?: { onLockLost?: () => void }): Promise<TurnStart>;
  /**
   * End a turn, atomically, only if `lock` still holds the session: append the model turn (or
   * roll the user turn back) and release the lock in one step, so that whoever is told `done`
   * finds the session free. `lost`: the lock was no longer ours, nothing was written.
   */
  endTurn(id: string, lock: string, outcome: TurnResult): Promise<TurnEnd>;
  /** Whether the store answers (for /health); the in-memory store always does. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** What `beginTurn` found. */
export type TurnStart =
  | { status: 'started'; lock: string; messages: Message[]; repaired: boolean }
  | { status: 'busy' }
  | { status: 'not_found' };

/** How a turn ends: with the model's message, or rolled back (the user turn removed). */
export type TurnResult = { model: Message } | { rollback: true };

export type TurnEnd = 'ok' | 'lost' | 'not_found';

export interface MemorySessionStoreOptions {
  /** A session idle (no write) for longer than this is forgotten; 0 = never. */
  ttlMs?: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/** The default store: a Map in this process. Idle sessions expire after `ttlMs`. */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #sessions = new Map<string, SessionRecord>();
  /** Session id → the token of the turn holding its lock. */
  readonly #locks = new Map<string, string>();
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

  async create(owner = 'anonymous'): Promise<SessionRecord> {
    this.#sweep();
    const now = new Date().toISOString();
    const record: SessionRecord = {
      id: randomUUID(),
      createdAt: now,
      updatedAt: now,
      messages: [],
      owner,
      members: [],
    };
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

  async page(principal: string, { limit, cursor }: PageRequest): Promise<SessionPage> {
    const mine: SessionRecord[] = [];
    for (const record of this.#sessions.values()) {
      if (ownerOf(record) !== principal && !record.members?.includes(principal)) continue;
      if (cursor !== undefined && pageKey(record) <= cursor) continue;
      if (this.#live(record.id)) mine.push(record);
    }
    mine.sort((a, b) => (pageKey(a) < pageKey(b) ? -1 : 1));
    const shown = mine.slice(0, limit);
    const last = shown.at(-1);
    return {
      sessions: shown.map(({ id, createdAt, updatedAt, messages }) => ({
        id,
        createdAt,
        updatedAt,
        messageCount: messages.length,
      })),
      ...(mine.length > limit && last ? { nextCursor: pageKey(last) } : {}),
    };
  }

  async addMember(id: string, principal: string): Promise<boolean> {
    const record = this.#live(id);
    if (!record) return false;
    record.members ??= [];
    if (!record.members.includes(principal)) record.members.push(principal);
    return true;
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
    this.#locks.set(id, randomUUID());
    return true;
  }

  async beginTurn(id: string, user: Message): Promise<TurnStart> {
    const record = this.#live(id);
    if (!record) return { status: 'not_found' };
    if (this.#locks.has(id)) return { status: 'busy' };
    const lock = randomUUID();
    this.#locks.set(id, lock);
    const repaired = record.messages.at(-1)?.role === 'user';
    if (repaired) record.messages.pop();
    record.messages.push({ ...user });
    record.updatedAt = new Date().toISOString();
    return { status: 'started', lock, messages: structuredClone(record.messages), repaired };
  }

  async endTurn(id: string, lock: string, outcome: TurnResult): Promise<TurnEnd> {
    const record = this.#sessions.get(id);
    if (!record) return 'not_found';
    if (this.#locks.get(id) !== lock) return 'lost';
    this.#locks.delete(id);
    if ('model' in outcome) record.messages.push({ ...outcome.model });
    else if (record.messages.at(-1)?.role === 'user') record.messages.pop();
    record.updatedAt = new Date().toISOString();
    return 'ok';
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
