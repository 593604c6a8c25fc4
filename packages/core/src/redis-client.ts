/**
 * The one way this project talks to Redis (REDIS_URL): every class that uses Redis (the session
 * store, the broker, the SSE hub, WebSocket presence) gets its connection, its key names and its
 * deadlines from here.
 *
 * - `createRedisClient()`: a node-redis client with the project's settings: no offline queue (a
 *   command fails at once while Redis is away), a command time-out, reconnection forever with
 *   capped backoff, Lua scripts registered with node-redis's `defineScript` (node-redis sends
 *   EVALSHA and falls back to EVAL by itself), and connection errors logged once per outage.
 * - `whenReady()` / `connectRedisClient()`: the one way to wait for the connection, failing with
 *   `unavailable` (and never printing a password) when Redis does not answer in time.
 * - `redisKeys()`: every key and channel name, with the prefix (`gtp:` by default) in one place.
 * - `withDeadline()`: our own bound on a call, since node-redis stops timing a command once it
 *   has been written to the socket (a frozen Redis would otherwise hold it forever).
 */
import { createClient, type RedisClientType, type RedisScripts } from 'redis';
import { ChatError } from './errors.ts';
import { type Logger, silentLogger } from './logger.ts';

export { type CommandParser, defineScript } from 'redis';

/** What every key and channel name of this app starts with, so several apps can share one Redis. */
export const REDIS_KEY_PREFIX = 'gtp:';
/** How long a command, and the first connection, may take before it fails. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** Reconnection backs off from 50 ms, doubling, up to this. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 2_000;
const REDIS_FIRST_RECONNECT_DELAY_MS = 50;

/** A client without scripts of its own. */
export type NoScripts = Record<never, never>;
export type RedisClient<S extends RedisScripts = NoScripts> = RedisClientType<NoScripts, NoScripts, S>;

export interface RedisClientOptions<S extends RedisScripts> {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`, usually REDIS_URL. */
  url: string;
  /** Lua scripts made with `defineScript`; each becomes a method of the client. */
  scripts?: S;
  /** Connection errors: the first of an outage, then its recovery (not every reconnect attempt). */
  logger?: Logger;
  /** What this connection is for, in log lines (`session store`, `sse reader`...). */
  name?: string;
  /** Every connection error, as node-redis reports it (once per failed reconnect attempt). */
  onError?: (error: Error) => void;
  /** Default REDIS_COMMAND_TIMEOUT_MS. Also the connect time-out. */
  commandTimeoutMs?: number;
  /**
   * Queue commands while disconnected instead of failing them at once. Only for a subscriber:
   * its SUBSCRIBEs wait for the connection, and node-redis re-subscribes after a reconnect.
   */
  queueWhileOffline?: boolean;
}

/**
 * A client that starts connecting in the background and reconnects forever; until it is ready,
 * its commands fail at once (see `whenReady` to wait for it).
 */
export function createRedisClient<S extends RedisScripts = NoScripts>(
  options: RedisClientOptions<S>,
): RedisClient<S> {
  const timeoutMs = options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
  const client = createClient({
    url: options.url,
    ...(options.scripts ? { scripts: options.scripts } : {}),
    disableOfflineQueue: !options.queueWhileOffline,
    commandOptions: { timeout: timeoutMs },
    socket: {
      connectTimeout: timeoutMs,
      // Never stop reconnecting: whoever uses the client recovers by itself when Redis returns.
      reconnectStrategy: (retries: number) =>
        Math.min(REDIS_FIRST_RECONNECT_DELAY_MS * 2 ** retries, REDIS_MAX_RECONNECT_DELAY_MS),
    },
  });
  const where = redactRedisUrl(options.url);
  const outage = outageLog(
    (options.logger ?? silentLogger).child({
      redis: where,
      ...(options.name ? { connection: options.name } : {}),
    }),
    'Redis connection failed; reconnecting',
    'Redis connection is back',
  );
  // node-redis emits `error` on every failed (re)connection; without a listener Node would crash.
  client.on('error', (error: Error) => {
    lastErrors.set(client, error);
    outage.failed(error);
    options.onError?.(error);
  });
  client.on('ready', () => {
    lastErrors.delete(client);
    outage.recovered();
  });
  client.connect().catch(() => {
    // Only rejects when the client is closed before its first connection.
  });
  return client;
}

export interface WhenReadyOptions {
  /** Default REDIS_COMMAND_TIMEOUT_MS. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Who is unavailable, in the error's message (`the session store`); default `Redis`. */
  what?: string;
}

/**
 * Resolves once the client is ready; rejects with `unavailable` after `timeoutMs` (or when
 * `signal` aborts). Does not close the client.
 */
export async function whenReady<S extends RedisScripts>(
  client: RedisClient<S>,
  { timeoutMs = REDIS_COMMAND_TIMEOUT_MS, signal, what }: WhenReadyOptions = {},
): Promise<void> {
  const url = client.options?.url ?? '';
  if (client.isReady) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: unknown) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => done();
    const onAbort = () => done(redisUnavailable(url, signal?.reason, what));
    const timer = setTimeout(() => {
      const cause = lastErrors.get(client) ?? new Error(`no connection after ${timeoutMs} ms`);
      done(redisUnavailable(url, cause, what));
    }, timeoutMs);
    client.once('ready', onReady);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `createRedisClient` + `whenReady`: a client whose connection is up, or `unavailable` (and no client). */
export async function connectRedisClient<S extends RedisScripts = NoScripts>(
  options: RedisClientOptions<S> & Omit<WhenReadyOptions, 'timeoutMs'>,
): Promise<RedisClient<S>> {
  const client = createRedisClient(options);
  try {
    await whenReady(client, {
      timeoutMs: options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.what ? { what: options.what } : {}),
    });
  } catch (error) {
    client.destroy();
    throw error;
  }
  return client;
}

/** How long a graceful close may wait for Redis's pending replies before the socket is destroyed. */
export const REDIS_CLOSE_TIMEOUT_MS = 1_000;

/**
 * Closes gracefully when connected (pending replies arrive), at once otherwise. A Redis that
 * does not answer (frozen) gets `timeoutMs`, then the connection is destroyed: shutdown never
 * waits on Redis for longer. Never throws.
 */
export async function closeRedisClient<S extends RedisScripts>(
  client: RedisClient<S>,
  timeoutMs = REDIS_CLOSE_TIMEOUT_MS,
): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  await withDeadline(client.close(), timeoutMs).catch(() => {
    if (client.isOpen) client.destroy();
  });
}

/** The last connection error of a client, for the message of an `unavailable` error. */
export function lastRedisError<S extends RedisScripts>(client: RedisClient<S>): Error | undefined {
  return lastErrors.get(client);
}

const lastErrors = new WeakMap<object, Error>();

/**
 * Key (and channel) names under one prefix: `redisKeys()('sse', id)` → `gtp:sse:<id>`. The
 * prefix carries its own separator, so `redisKeys('test-1:')('sessions')` → `test-1:sessions`.
 */
export function redisKeys(prefix: string = REDIS_KEY_PREFIX): (...parts: string[]) => string {
  return (...parts) => prefix + parts.join(':');
}

/** The error of a Redis call that could not be made: `unavailable`, naming REDIS_URL, never the password. */
export function redisUnavailable(url: string, cause: unknown, what?: string): ChatError {
  const reason = cause instanceof Error && cause.message ? `: ${cause.message}` : '';
  const message = `Redis at ${redactRedisUrl(url)} (REDIS_URL) is not answering${reason}`;
  return new ChatError('unavailable', what ? `${what} is unavailable: ${message}` : message, { cause });
}

/** Thrown by `withDeadline` when the call did not settle in time. */
export class RedisDeadlineError extends Error {
  override readonly name = 'RedisDeadlineError';
  readonly deadlineMs: number;
  constructor(deadlineMs: number) {
    super(`no answer within ${deadlineMs} ms`);
    this.deadlineMs = deadlineMs;
  }
}

/**
 * `promise`, or a RedisDeadlineError after `ms`. The call itself goes on (Redis may still run
 * it); only the caller stops waiting.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisDeadlineError(ms)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Logs a repeated failure once, and then once when it is over: what an outage looks like in
 * the log, rather than one line per reconnect attempt or per retried read.
 */
export function outageLog(
  logger: Logger,
  failedMessage: string,
  recoveredMessage: string,
): { failed(error: unknown): void; recovered(): void } {
  let failures = 0;
  let since = 0;
  return {
    failed(error) {
      if (failures++ === 0) {
        since = Date.now();
        logger.error({ err: error }, failedMessage);
      }
    },
    recovered() {
      if (failures === 0) return;
      logger.info({ failures, downMs: Date.now() - since }, recoveredMessage);
      failures = 0;
    },
  };
}

/** `redis://user:secret@host:6379` → `redis://user:***@host:6379`: never print a password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}
