/**
 * Sessions in Redis, so that several server instances share them (set REDIS_URL).
 *
 * Imported from `@gtp/core/redis` rather than `@gtp/core`, so the Redis client is only loaded
 * by servers that use it. Keys (the prefix defaults to `gtp:`):
 *
 *   gtp:session:<id>    hash    id, createdAt, updatedAt
 *   gtp:messages:<id>   list    one JSON Message per entry, oldest first
 *   gtp:lock:<id>       string  the token of the instance running a reply (SET NX PX)
 *   gtp:sessions        zset    every session id, scored by when it expires (for `list()`)
 *   gtp:principal:<p>   zset    `createdAt|id` of the sessions <p> owns or was invited to (page())
 *
 * Every key of a session expires `ttlMs` after its last write. Each write is one Lua script, so
 * it is atomic and never recreates a session that was deleted or has expired in the meantime.
 * (The scripts touch keys of several sessions' slots, so this store targets one Redis server
 * or a primary with replicas, not Redis Cluster.)
 */
import { randomUUID } from 'node:crypto';
import { type CommandParser, ErrorReply } from 'redis';
import {
  DEFAULT_REDIS_LOCK_TTL_MS,
  DEFAULT_SESSION_TTL_MS,
  DEPENDENCY_PING_TIMEOUT_MS,
} from './constants.ts';
import { ChatError } from './errors.ts';
import { type Message, MessageSchema } from './events.ts';
import { type Logger, silentLogger } from './logger.ts';
import {
  closeRedisClient,
  createRedisClient,
  defineScript,
  lastRedisError,
  outageLog,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  redisKeys,
  redisUnavailable,
  whenReady,
  withDeadline,
} from './redis-client.ts';
import {
  type PageRequest,
  pageKey,
  type SessionPage,
  type SessionRecord,
  type SessionStore,
  type SessionSummary,
  type TurnEnd,
  type TurnResult,
  type TurnStart,
} from './session-store.ts';

/**
 * A reply lock's default TTL (REDIS_LOCK_TTL_MS). Short, so a crashed holder frees the session
 * within seconds; the holder renews it every third of it.
 */
export const REDIS_LOCK_TTL_MS = DEFAULT_REDIS_LOCK_TTL_MS;

export interface RedisSessionStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`, usually REDIS_URL. */
  url: string;
  /** Prepended to every key (default REDIS_KEY_PREFIX), so several apps (or tests) can share one Redis. */
  keyPrefix?: string;
  /** A session and its history expire this long after their last write; 0 = never (SESSION_TTL_MS). */
  ttlMs?: number;
  /**
   * A reply lock expires this long after it was taken or last renewed. The holder renews it
   * every third of this, so only a crashed (or cut off) instance lets it expire.
   */
  lockTtlMs?: number;
  /**
   * How long an operation (and the first connection) may take before it fails with
   * `unavailable`. Commands are not queued while Redis is away: they fail at once.
   */
  commandTimeoutMs?: number;
  /** Connection trouble: the first error of an outage and its recovery. */
  logger?: Logger;
  /** Every connection error (node-redis reports one per reconnection attempt while Redis is away). */
  onError?: (error: Error) => void;
}

interface HeldLock {
  token: string;
  renewal: NodeJS.Timeout;
  onLost?: () => void;
}

/** The keys of a turn's scripts: a SessionWrite's three, then the session's lock. */
interface TurnWrite {
  keys: [session: string, messages: string, index: string, lock: string];
  args: SessionWrite['args'];
}

// True when the JSON message at the end of the list is a user turn.
const LAST_IS_USER = `
local function lastIsUser()
  local last = redis.call('LINDEX', KEYS[2], -1)
  return last ~= false and cjson.decode(last).role == 'user'
end
`;

/** The keys a session-writing script touches, and the TTL arguments they share. */
interface SessionWrite {
  keys: [session: string, messages: string, index: string];
  /** id, ttlMs (0 = never), expiresAtMs (or +inf), now (ISO). */
  args: [string, string, string, string];
}

// Refreshes the TTL of a session's keys and its expiry in the index.
// KEYS: session, messages, index. ARGV: id, ttlMs (0 = never), expiresAtMs (or +inf), ...
const TOUCH = `
local function touch()
  if ARGV[2] == '0' then
    redis.call('PERSIST', KEYS[1])
    redis.call('PERSIST', KEYS[2])
  else
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
`;

/** A script that runs TOUCH, then `body`, with a write's keys and arguments (then any extra). */
function touchScript<W extends SessionWrite | TurnWrite>(numberOfKeys: W['keys']['length']) {
  return <R>(body: string, transformReply: (reply: unknown) => R) =>
    defineScript({
      NUMBER_OF_KEYS: numberOfKeys,
      SCRIPT: `${TOUCH}${body}`,
      parseCommand(parser: CommandParser, write: W, ...extra: string[]) {
        parser.pushKeys(write.keys);
        parser.push(...write.args, ...extra);
      },
      transformReply,
    });
}
/** A session-writing script, with a SessionWrite's three keys. */
const writeScript = touchScript<SessionWrite>(3);
/** A turn script, with a TurnWrite's four (the session's lock last). */
const turnScript = touchScript<TurnWrite>(4);

const isOne = (reply: unknown) => reply === 1;
const stringOrNull = (reply: unknown) => (typeof reply === 'string' ? reply : null);

/**
 * The store's Lua scripts, registered with the client (`defineScript`): node-redis runs each by
 * its SHA-1 (EVALSHA) and sends the source (EVAL) when Redis does not know it yet or restarted.
 */
const scripts = {
  // ARGV: id, ttlMs, expiresAtMs, now
  createSession: writeScript(
    `
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'createdAt', ARGV[4], 'updatedAt', ARGV[4], 'owner', ARGV[5])
touch()
return 1`,
    isOne,
  ),
  // ARGV: id, ttlMs, expiresAtMs, now, message JSON. Returns 0 for an unknown session.
  appendTurn: writeScript(
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return 1`,
    isOne,
  ),
  // ARGV: id, ttlMs, expiresAtMs, now. Returns the removed JSON, or nil.
  popTurn: writeScript(
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local last = redis.call('RPOP', KEYS[2])
if last then
  redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
  touch()
end
return last`,
    stringOrNull,
  ),
  // ARGV: id, ttlMs, expiresAtMs, now. Returns 0 for an unknown session.
  clearHistory: writeScript(
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return 1`,
    isOne,
  ),
  // KEYS: session, messages, index, lock. ARGV: id. Returns 0 for an unknown session.
  deleteSession: defineScript({
    NUMBER_OF_KEYS: 4,
    SCRIPT: `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed`,
    parseCommand(parser: CommandParser, keys: [string, string, string, string], id: string) {
      parser.pushKeys(keys);
      parser.push(id);
    },
    transformReply: isOne,
  }),
  // KEYS: session, messages. Returns { {id, createdAt, updatedAt}, {message JSON...} } or nil.
  readSession: defineScript({
    NUMBER_OF_KEYS: 2,
    SCRIPT: `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('LRANGE', KEYS[2], 0, -1)
}`,
    parseCommand(parser: CommandParser, session: string, messages: string) {
      parser.pushKeys([session, messages]);
    },
    transformReply(reply: unknown) {
      if (!Array.isArray(reply)) return null;
      const [pairs = [], entries = []] = reply as [string[]?, string[]?];
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < pairs.length; i += 2) fields.set(pairs[i]!, pairs[i + 1]!);
      const [id, createdAt, updatedAt] = [fields.get('id'), fields.get('createdAt'), fields.get('updatedAt')];
      if (!id || !createdAt || !updatedAt) return null;
      const owner = fields.get('owner');
      const members = [...fields.keys()].filter((f) => f.startsWith('member:')).map((f) => f.slice(7));
      return { id, createdAt, updatedAt, entries, ...(owner ? { owner } : {}), members };
    },
  }),
  // KEYS: session, the member's index. ARGV: member, index entry. Returns 0 for an unknown session.
  addMember: defineScript({
    NUMBER_OF_KEYS: 2,
    SCRIPT: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'member:' .. ARGV[1], '1')
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1`,
    parseCommand(parser: CommandParser, keys: [string, string], member: string, entry: string) {
      parser.pushKeys(keys);
      parser.push(member, entry);
    },
    transformReply: isOne,
  }),
  // ARGV: id, ttlMs, expiresAtMs, now, token, lockTtlMs, user message JSON.
  // Returns {0} unknown session, {1} busy, {2, repaired, {message JSON...}} started.
  beginTurn: turnScript(
    `${LAST_IS_USER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if not redis.call('SET', KEYS[4], ARGV[5], 'NX', 'PX', ARGV[6]) then return {1} end
local repaired = 0
if lastIsUser() then
  redis.call('RPOP', KEYS[2])
  repaired = 1
end
redis.call('RPUSH', KEYS[2], ARGV[7])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return {2, repaired, redis.call('LRANGE', KEYS[2], 0, -1)}`,
    (reply: unknown) => reply as [0] | [1] | [2, number, string[]],
  ),
  // ARGV: id, ttlMs, expiresAtMs, now, token, 'commit' | 'rollback', model message JSON.
  // Only while the token still holds the lock: write the outcome and release the lock.
  endTurn: turnScript(
    `${LAST_IS_USER}
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
if redis.call('GET', KEYS[4]) ~= ARGV[5] then return 'lost' end
redis.call('DEL', KEYS[4])
if ARGV[6] == 'commit' then
  redis.call('RPUSH', KEYS[2], ARGV[7])
elseif lastIsUser() then
  redis.call('RPOP', KEYS[2])
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return 'ok'`,
    (reply: unknown) => reply as TurnEnd,
  ),
  // KEYS: lock. ARGV: token, lockTtlMs. Only the holder may renew or release a lock.
  renewLock: defineScript({
    NUMBER_OF_KEYS: 1,
    SCRIPT: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
    parseCommand(parser: CommandParser, lock: string, token: string, lockTtlMs: number) {
      parser.pushKey(lock);
      parser.push(token, String(lockTtlMs));
    },
    transformReply: isOne,
  }),
  releaseLock: defineScript({
    NUMBER_OF_KEYS: 1,
    SCRIPT: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
    parseCommand(parser: CommandParser, lock: string, token: string) {
      parser.pushKey(lock);
      parser.push(token);
    },
    transformReply: isOne,
  }),
};

/** A SessionStore in Redis (node-redis). Create it with `await RedisSessionStore.connect(...)`. */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #client: RedisClient<typeof scripts>;
  readonly #key: (...parts: string[]) => string;
  readonly #url: string;
  readonly #ttlMs: number;
  readonly #lockTtlMs: number;
  readonly #commandTimeoutMs: number;
  readonly #logger: Logger;
  /** Lock renewals that fail while Redis is away: logged once, and when they work again. */
  readonly #renewals: ReturnType<typeof outageLog>;
  /** Locks this instance holds, each with its own token and renewal timer. */
  readonly #held = new Map<string, HeldLock>();
  #closed = false;

  /**
   * Starts connecting in the background and never throws: operations fail with `unavailable`
   * until Redis answers. Use `connect()` to wait for the first connection instead.
   */
  constructor(options: RedisSessionStoreOptions) {
    this.#key = redisKeys(options.keyPrefix);
    this.#ttlMs = milliseconds('ttlMs', options.ttlMs ?? DEFAULT_SESSION_TTL_MS, 0);
    this.#lockTtlMs = milliseconds('lockTtlMs', options.lockTtlMs ?? REDIS_LOCK_TTL_MS);
    this.#commandTimeoutMs = milliseconds(
      'commandTimeoutMs',
      options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
    );
    this.#url = options.url;
    this.#logger = options.logger ?? silentLogger;
    this.#renewals = outageLog(
      this.#logger,
      'cannot renew the reply locks this instance holds; they expire unless Redis returns in time',
      'reply locks renewed again',
    );
    this.#client = createRedisClient({
      url: options.url,
      scripts,
      commandTimeoutMs: this.#commandTimeoutMs,
      logger: this.#logger,
      name: 'session store',
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** A store whose connection is up. Rejects with `unavailable` (and closes it) if Redis does not answer. */
  static async connect(options: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(options);
    try {
      await whenReady(store.#client, { timeoutMs: store.#commandTimeoutMs, what: 'the session store' });
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** True when Redis answers a PING (for /health). Never throws. */
  async ping(): Promise<boolean> {
    if (!this.#client.isReady) return false;
    try {
      const deadlineMs = Math.min(this.#commandTimeoutMs, DEPENDENCY_PING_TIMEOUT_MS);
      return (await withDeadline(this.#client.ping(), deadlineMs)) === 'PONG';
    } catch {
      return false;
    }
  }

  async create(owner = 'anonymous'): Promise<SessionRecord> {
    const id = randomUUID();
    const now = new Date().toISOString();
    await this.#call(() => this.#client.createSession(this.#write(id, now), owner));
    // The owner's index (gtp:principal:<p>, a zset of `createdAt|id` read BYLEX): what page()
    // reads. Entries of deleted or expired sessions are dropped when a listing meets them.
    const entry = pageKey({ id, createdAt: now });
    await this.#call(() => this.#client.zAdd(this.#key('principal', owner), { score: 0, value: entry }));
    return { id, createdAt: now, updatedAt: now, messages: [], owner, members: [] };
  }

  async page(principal: string, { limit, cursor }: PageRequest): Promise<SessionPage> {
    const index = this.#key('principal', principal);
    const sessions: SessionSummary[] = [];
    let from = cursor === undefined ? '-' : `(${cursor}`;
    let more = false;
    for (;;) {
      const entries = await this.#call(() =>
        this.#client.zRange(index, from, '+', { BY: 'LEX', LIMIT: { offset: 0, count: limit + 1 } }),
      );
      const reads = entries.length
        ? await this.#call(() => {
            const multi = this.#client.multi();
            for (const entry of entries) {
              const id = entry.slice(entry.lastIndexOf('|') + 1);
              multi.hmGet(this.#key('session', id), ['id', 'createdAt', 'updatedAt']);
              multi.lLen(this.#key('messages', id));
            }
            return multi.exec();
          })
        : [];
      const stale: string[] = [];
      entries.forEach((entry, i) => {
        const [id, createdAt, updatedAt] = (reads[2 * i] ?? []) as unknown as (string | null)[];
        if (!id || !createdAt || !updatedAt) stale.push(entry);
        else if (sessions.length < limit) {
          sessions.push({ id, createdAt, updatedAt, messageCount: Number(reads[2 * i + 1] ?? 0) });
        } else more = true;
      });
      if (stale.length) await this.#call(() => this.#client.zRem(index, stale));
      // Done: a full page and one more seen, or the index ran out.
      if (more || entries.length <= limit) break;
      from = `(${entries.at(-1)}`;
    }
    const last = sessions.at(-1);
    return { sessions, ...(more && last ? { nextCursor: pageKey(last) } : {}) };
  }

  async addMember(id: string, principal: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    const keys: [string, string] = [this.#key('session', id), this.#key('principal', principal)];
    return this.#call(() => this.#client.addMember(keys, principal, pageKey(record)));
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const reply = await this.#call(() =>
      this.#client.readSession(this.#key('session', id), this.#key('messages', id)),
    );
    if (!reply) return undefined;
    const { id: storedId, createdAt, updatedAt, entries, owner, members } = reply;
    const messages = entries.map((entry) => MessageSchema.parse(JSON.parse(entry)));
    return { id: storedId, createdAt, updatedAt, messages, ...(owner ? { owner } : {}), members };
  }

  async list(): Promise<SessionRecord[]> {
    const index = this.#key('sessions');
    const ids = await this.#call(async () => {
      // Drop the ids whose session has expired, then read the rest.
      await this.#client.zRemRangeByScore(index, '-inf', Date.now());
      return this.#client.zRange(index, 0, -1);
    });
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((record): record is SessionRecord => record !== undefined);
  }

  async count(): Promise<number> {
    const index = this.#key('sessions');
    return this.#call(async () => {
      await this.#client.zRemRangeByScore(index, '-inf', Date.now());
      return this.#client.zCard(index);
    });
  }

  async delete(id: string): Promise<boolean> {
    this.#stopRenewing(id);
    const keys: [string, string, string, string] = [
      this.#key('session', id),
      this.#key('messages', id),
      this.#key('sessions'),
      this.#key('lock', id),
    ];
    return this.#call(() => this.#client.deleteSession(keys, id));
  }

  async appendTurn(id: string, message: Message): Promise<boolean> {
    const write = this.#write(id, new Date().toISOString());
    return this.#call(() => this.#client.appendTurn(write, JSON.stringify(message)));
  }

  async popTurn(id: string): Promise<Message | undefined> {
    const write = this.#write(id, new Date().toISOString());
    const last = await this.#call(() => this.#client.popTurn(write));
    return typeof last === 'string' ? MessageSchema.parse(JSON.parse(last)) : undefined;
  }

  async clear(id: string): Promise<boolean> {
    const write = this.#write(id, new Date().toISOString());
    return this.#call(() => this.#client.clearHistory(write));
  }

  async isLocked(id: string): Promise<boolean> {
    const key = this.#key('lock', id);
    return (await this.#call(() => this.#client.exists(key))) === 1;
  }

  /**
   * `SET lock token NX PX lockTtlMs`: only one instance gets it. While this instance holds it, a
   * timer renews it every third of its TTL; if the instance dies, the lock expires by itself.
   */
  async tryLock(id: string): Promise<boolean> {
    const token = randomUUID();
    const key = this.#key('lock', id);
    const taken = await this.#call(() =>
      this.#client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: this.#lockTtlMs } }),
    );
    if (taken !== 'OK') return false;
    this.#hold(id, token);
    return true;
  }

  async beginTurn(id: string, user: Message, options: { onLockLost?: () => void } = {}): Promise<TurnStart> {
    const token = randomUUID();
    const write = this.#turnWrite(id);
    const reply = await this.#call(() =>
      this.#client.beginTurn(write, token, String(this.#lockTtlMs), JSON.stringify(user)),
    );
    if (reply[0] === 0) return { status: 'not_found' };
    if (reply[0] === 1) return { status: 'busy' };
    this.#hold(id, token, options.onLockLost);
    const [, repaired, entries] = reply as [2, number, string[]];
    const messages = entries.map((entry) => MessageSchema.parse(JSON.parse(entry)));
    return { status: 'started', lock: token, messages, repaired: repaired === 1 };
  }

  async endTurn(id: string, lock: string, outcome: TurnResult): Promise<TurnEnd> {
    this.#stopRenewing(id, lock);
    const write = this.#turnWrite(id);
    const [action, message] =
      'model' in outcome ? ['commit', JSON.stringify(outcome.model)] : ['rollback', ''];
    return this.#call(() => this.#client.endTurn(write, lock, action, message));
  }

  /**
   * While this instance holds a lock, a timer renews it every third of its TTL; if the instance
   * dies, the lock expires by itself within `lockTtlMs`.
   */
  #hold(id: string, token: string, onLost?: () => void): void {
    const key = this.#key('lock', id);
    const renewal = setInterval(
      () => {
        this.#call(() => this.#client.renewLock(key, token, this.#lockTtlMs))
          .then((renewed) => {
            this.#renewals.recovered();
            // Someone deleted the session (and its lock), or it expired while Redis was away.
            if (!renewed && this.#held.get(id)?.token === token) {
              this.#stopRenewing(id, token);
              onLost?.();
            }
          })
          .catch((error: unknown) => {
            // Redis is away: try again at the next tick, the lock is still valid until its TTL.
            this.#renewals.failed(error);
          });
      },
      Math.max(1, Math.floor(this.#lockTtlMs / 3)),
    );
    renewal.unref();
    this.#held.set(id, { token, renewal, ...(onLost ? { onLost } : {}) });
  }

  /**
   * Releases the lock only if this instance still holds it (compare-and-delete in Lua). Never
   * throws: if Redis is away, the lock simply expires after `lockTtlMs`.
   */
  async unlock(id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held) return;
    this.#stopRenewing(id);
    await this.#call(() => this.#client.releaseLock(this.#key('lock', id), held.token)).catch(
      (error: unknown) => {
        this.#logger.warn({ err: error, sessionId: id }, 'cannot release a reply lock; it expires by itself');
      },
    );
  }

  /** Releases the locks still held (best effort), then quits the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([...this.#held.keys()].map((id) => this.unlock(id)));
    this.#closed = true;
    await closeRedisClient(this.#client);
  }

  #stopRenewing(id: string, token?: string): void {
    const held = this.#held.get(id);
    if (!held || (token !== undefined && held.token !== token)) return;
    clearInterval(held.renewal);
    this.#held.delete(id);
  }

  #turnWrite(id: string): TurnWrite {
    const { keys, args } = this.#write(id, new Date().toISOString());
    return { keys: [...keys, this.#key('lock', id)], args };
  }

  /** The keys and TTL arguments of the session-writing scripts. */
  #write(id: string, now: string): SessionWrite {
    const expiresAt = this.#ttlMs > 0 ? String(Date.now() + this.#ttlMs) : '+inf';
    return {
      keys: [this.#key('session', id), this.#key('messages', id), this.#key('sessions')],
      args: [id, String(this.#ttlMs), expiresAt, now],
    };
  }

  /**
   * Every Redis call goes through here, within our own deadline: connection trouble becomes a
   * clear `unavailable`.
   */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ChatError('unavailable', 'the Redis session store is closed');
    if (!this.#client.isReady) throw this.#unavailable(lastRedisError(this.#client));
    try {
      return await withDeadline(operation(), this.#commandTimeoutMs);
    } catch (error) {
      // An error *reply* means Redis answered (a bug or a misconfigured server), not an outage.
      if (error instanceof ErrorReply) {
        throw new ChatError('internal', 'the Redis session store failed', { cause: error });
      }
      throw this.#unavailable(error);
    }
  }

  #unavailable(cause: unknown): ChatError {
    return redisUnavailable(this.#url, cause, 'the session store');
  }
}

function milliseconds(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `RedisSessionStore: ${name} must be an integer of milliseconds >= ${min}, got ${value}`,
    );
  }
  return value;
}
