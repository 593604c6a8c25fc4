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
 *
 * Every key of a session expires `ttlMs` after its last write. Each write is one Lua script, so
 * it is atomic and never recreates a session that was deleted or has expired in the meantime.
 * (The scripts touch keys of several sessions' slots, so this store targets one Redis server
 * or a primary with replicas, not Redis Cluster.)
 */
import { createHash, randomUUID } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import { DEFAULT_SESSION_TTL_MS } from './constants.ts';
import { ChatError } from './errors.ts';
import { type Message, MessageSchema } from './events.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

export const REDIS_KEY_PREFIX = 'gtp:';
export const REDIS_LOCK_TTL_MS = 30_000;
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
export const REDIS_MAX_RECONNECT_DELAY_MS = 2_000;

export interface RedisSessionStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`, usually REDIS_URL. */
  url: string;
  /** Prepended to every key, so several apps (or tests) can share one Redis. */
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
  /** Connection errors (reported on every reconnection attempt while Redis is away). */
  onError?: (error: Error) => void;
}

type RedisClient = ReturnType<typeof createClient>;

interface HeldLock {
  token: string;
  renewal: NodeJS.Timeout;
}

/** A Lua script and its SHA-1, by which Redis knows it once it has run it (EVALSHA). */
interface Script {
  source: string;
  sha1: string;
}

const script = (source: string): Script => ({
  source,
  sha1: createHash('sha1').update(source).digest('hex'),
});

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

// ARGV: id, ttlMs, expiresAtMs, now
const CREATE = script(`${TOUCH}
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'createdAt', ARGV[4], 'updatedAt', ARGV[4])
touch()
return 1`);

// ARGV: id, ttlMs, expiresAtMs, now, message JSON. Returns 0 for an unknown session.
const APPEND_TURN = script(`${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return 1`);

// ARGV: id, ttlMs, expiresAtMs, now. Returns the removed JSON, or nil.
const POP_TURN = script(`${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local last = redis.call('RPOP', KEYS[2])
if last then
  redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
  touch()
end
return last`);

// ARGV: id, ttlMs, expiresAtMs, now. Returns 0 for an unknown session.
const CLEAR = script(`${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
touch()
return 1`);

// KEYS: session, messages, index, lock. ARGV: id. Returns 0 for an unknown session.
const DELETE = script(`
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed`);

// KEYS: session, messages. Returns { {id, createdAt, updatedAt}, {message JSON...} } or nil.
const GET = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
return {
  redis.call('HMGET', KEYS[1], 'id', 'createdAt', 'updatedAt'),
  redis.call('LRANGE', KEYS[2], 0, -1)
}`);

// KEYS: lock. ARGV: token, lockTtlMs. Only the holder may renew or release a lock.
const RENEW_LOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);
const RELEASE_LOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** A SessionStore in Redis (node-redis). Create it with `await RedisSessionStore.connect(...)`. */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #lockTtlMs: number;
  readonly #commandTimeoutMs: number;
  /** The URL without its password, for error messages. */
  readonly #where: string;
  /** Locks this instance holds, each with its own token and renewal timer. */
  readonly #held = new Map<string, HeldLock>();
  #lastError: Error | undefined;
  #closed = false;

  /**
   * Starts connecting in the background and never throws: operations fail with `unavailable`
   * until Redis answers. Use `connect()` to wait for the first connection instead.
   */
  constructor(options: RedisSessionStoreOptions) {
    this.#prefix = options.keyPrefix ?? REDIS_KEY_PREFIX;
    this.#ttlMs = milliseconds('ttlMs', options.ttlMs ?? DEFAULT_SESSION_TTL_MS, 0);
    this.#lockTtlMs = milliseconds('lockTtlMs', options.lockTtlMs ?? REDIS_LOCK_TTL_MS);
    this.#commandTimeoutMs = milliseconds(
      'commandTimeoutMs',
      options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
    );
    this.#where = redact(options.url);
    this.#client = createClient({
      url: options.url,
      // Fail fast while disconnected instead of queueing commands until Redis comes back...
      disableOfflineQueue: true,
      // ...and give up on a command Redis does not answer in time.
      commandOptions: { timeout: this.#commandTimeoutMs },
      socket: {
        connectTimeout: this.#commandTimeoutMs,
        // Never stop reconnecting: the store recovers by itself when Redis returns.
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, REDIS_MAX_RECONNECT_DELAY_MS),
      },
    });
    // node-redis emits `error` on every failed (re)connection; without a listener Node would crash.
    this.#client.on('error', (error: Error) => {
      this.#lastError = error;
      options.onError?.(error);
    });
    this.#client.connect().catch(() => {
      // Only rejects when the store is closed before the first connection.
    });
  }

  /** A store whose connection is up. Rejects with `unavailable` (and closes it) if Redis does not answer. */
  static async connect(options: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(options);
    try {
      await store.#waitUntilReady();
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
      return (await this.#client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async create(): Promise<SessionRecord> {
    const id = randomUUID();
    const now = new Date().toISOString();
    await this.#write(CREATE, id, now);
    return { id, createdAt: now, updatedAt: now, messages: [] };
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const reply = await this.#eval(GET, [this.#key('session', id), this.#key('messages', id)], []);
    if (!Array.isArray(reply)) return undefined;
    const [fields, entries] = reply as [string[], string[]];
    const [storedId, createdAt, updatedAt] = fields;
    if (!storedId || !createdAt || !updatedAt) return undefined;
    const messages = entries.map((entry) => MessageSchema.parse(JSON.parse(entry)));
    return { id: storedId, createdAt, updatedAt, messages };
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
    const keys = [
      this.#key('session', id),
      this.#key('messages', id),
      this.#key('sessions'),
      this.#key('lock', id),
    ];
    return (await this.#eval(DELETE, keys, [id])) === 1;
  }

  async appendTurn(id: string, message: Message): Promise<boolean> {
    return (await this.#write(APPEND_TURN, id, new Date().toISOString(), JSON.stringify(message))) === 1;
  }

  async popTurn(id: string): Promise<Message | undefined> {
    const last = await this.#write(POP_TURN, id, new Date().toISOString());
    return typeof last === 'string' ? MessageSchema.parse(JSON.parse(last)) : undefined;
  }

  async clear(id: string): Promise<boolean> {
    return (await this.#write(CLEAR, id, new Date().toISOString())) === 1;
  }

  /**
   * `SET lock token NX PX lockTtlMs`: only one instance gets it. While this instance holds it, a
   * timer renews it every third of its TTL; if the instance dies, the lock expires by itself.
   */
  async isLocked(id: string): Promise<boolean> {
    const key = this.#key('lock', id);
    return (await this.#call(() => this.#client.exists(key))) === 1;
  }

  async tryLock(id: string): Promise<boolean> {
    const token = randomUUID();
    const key = this.#key('lock', id);
    const taken = await this.#call(() =>
      this.#client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: this.#lockTtlMs } }),
    );
    if (taken !== 'OK') return false;
    const renewal = setInterval(
      () => {
        this.#eval(RENEW_LOCK, [key], [token, String(this.#lockTtlMs)])
          .then((renewed) => {
            // Someone deleted the session (and its lock), or it expired while Redis was away.
            if (renewed !== 1) this.#stopRenewing(id, token);
          })
          .catch(() => {
            // Redis is away: try again at the next tick, the lock is still valid until its TTL.
          });
      },
      Math.max(1, Math.floor(this.#lockTtlMs / 3)),
    );
    renewal.unref();
    this.#held.set(id, { token, renewal });
    return true;
  }

  /**
   * Releases the lock only if this instance still holds it (compare-and-delete in Lua). Never
   * throws: if Redis is away, the lock simply expires after `lockTtlMs`.
   */
  async unlock(id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held) return;
    this.#stopRenewing(id);
    await this.#eval(RELEASE_LOCK, [this.#key('lock', id)], [held.token]).catch(() => undefined);
  }

  /** Releases the locks still held (best effort), then quits the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([...this.#held.keys()].map((id) => this.unlock(id)));
    this.#closed = true;
    if (this.#client.isReady) {
      await this.#client.close().catch(() => this.#client.destroy());
    } else {
      this.#client.destroy();
    }
  }

  #key(kind: 'session' | 'messages' | 'lock', id: string): string;
  #key(kind: 'sessions'): string;
  #key(kind: string, id?: string): string {
    return id === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${id}`;
  }

  #stopRenewing(id: string, token?: string): void {
    const held = this.#held.get(id);
    if (!held || (token !== undefined && held.token !== token)) return;
    clearInterval(held.renewal);
    this.#held.delete(id);
  }

  /** Runs one of the session-writing scripts with the keys and TTL arguments they share. */
  #write(source: Script, id: string, now: string, ...extra: string[]): Promise<unknown> {
    const keys = [this.#key('session', id), this.#key('messages', id), this.#key('sessions')];
    const expiresAt = this.#ttlMs > 0 ? String(Date.now() + this.#ttlMs) : '+inf';
    const args = [id, String(this.#ttlMs), expiresAt, now, ...extra];
    return this.#eval(source, keys, args);
  }

  /** EVALSHA; EVAL (which also caches the script) when Redis does not know it yet or restarted. */
  #eval(source: Script, keys: string[], args: string[]): Promise<unknown> {
    return this.#call(async () => {
      const options = { keys, arguments: args };
      try {
        return await this.#client.evalSha(source.sha1, options);
      } catch (error) {
        if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
        return this.#client.eval(source.source, options);
      }
    });
  }

  /** Every Redis call goes through here: connection trouble becomes a clear `unavailable`. */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ChatError('unavailable', 'the Redis session store is closed');
    if (!this.#client.isReady) throw this.#unavailable(this.#lastError);
    try {
      return await operation();
    } catch (error) {
      // An error *reply* means Redis answered (a bug or a misconfigured server), not an outage.
      if (error instanceof ErrorReply) {
        throw new ChatError('internal', 'the Redis session store failed', { cause: error });
      }
      throw this.#unavailable(error);
    }
  }

  #unavailable(cause: unknown): ChatError {
    const reason = cause instanceof Error && cause.message ? `: ${cause.message}` : '';
    return new ChatError(
      'unavailable',
      `the session store is unavailable: Redis at ${this.#where} (REDIS_URL) is not answering${reason}`,
      { cause },
    );
  }

  async #waitUntilReady(): Promise<void> {
    if (this.#client.isReady) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        reject(
          this.#unavailable(this.#lastError ?? new Error(`no connection after ${this.#commandTimeoutMs} ms`)),
        );
      }, this.#commandTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#client.once('ready', onReady);
    });
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

/** `redis://user:secret@host:6379` → `redis://user:***@host:6379`: never print a password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}
