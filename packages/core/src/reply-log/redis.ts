/**
 * The reply log of several server instances (REDIS_URL): each session's events in a Redis
 * Stream, so that a listener on any instance gets every reply and resumes anywhere.
 *
 *   gtp:log:<sessionId>         stream  one entry per event: fields `type`, `reply` (the messageId
 *                                       of the reply it belongs to) and `data` (the JSON)
 *   gtp:log:<sessionId>:lease   string  the instance producing the reply in flight; expires
 *                                       LEASE_TTL_MS after its last renewal
 *
 * - Ids. A stream entry id is `<ms>-<seq>`; we choose it as `<n>-0`, where n is the session's
 *   event sequence. So the event's seq, the entry id and the XREAD cursor are the same number.
 * - Appends are a script (APPEND_SCRIPT) that adds entry n only when the newest is n - 1: an
 *   append can never leave a hole or a duplicate, even when a connection blip fails some
 *   appends of a pipelined burst and lets later ones through. The pump then finds what Redis
 *   has and appends the rest again, in order (`#recover`): after a blip the reply continues.
 * - Bounded. `XADD … MAXLEN ~ size` (Redis trims in whole blocks, so at least `size` events
 *   stay); the stream expires with the session's TTL.
 * - The lease. The producer sets it with the `start`, renews it every LEASE_RENEW_MS and deletes
 *   it with the final event. A reader that sees a reply in flight without a lease (its instance
 *   died, or lost Redis for longer than the lease) appends the final `error` (`unavailable`) with
 *   ABANDON_SCRIPT, which does it only if the reply is still not final and the lease still gone:
 *   whichever instance notices first, the error is written once and every listener reads it.
 * - Reading. One connection per instance blocks in `XREAD BLOCK … STREAMS <every session with a
 *   listener here>` and fans entries out to the local listeners; a listener is never a Redis
 *   connection. When a session gets its first listener, `CLIENT UNBLOCK` wakes the reader.
 *   A reader left more than the bound behind a burst finds the stream trimmed past its cursor
 *   (XREAD skips what MAXLEN dropped): each listener it skipped is sent a `reset` that replays
 *   nothing, then the live tail (`deliver`), never a silent gap.
 * - Resume. A new listener joins its session's live feed first (buffering), then reads what the
 *   stream keeps (`XRANGE`), replays per `replayPlan`, and skips the live events it already got.
 * - Delete. The stream and lease are deleted and the broker tells every instance to end that
 *   session's listeners. Expiry: a feed idle past the TTL whose session is gone is ended too.
 */
import type { Broker } from '../broker.ts';
import { DEPENDENCY_PING_TIMEOUT_MS } from '../constants.ts';
import type { ChatEvent, StartEvent } from '../events.ts';
import { type Logger, silentLogger } from '../logger.ts';
import {
  type CommandParser,
  closeRedisClient,
  createRedisClient,
  defineScript,
  outageLog,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  redisKeys,
  whenReady,
  withDeadline,
} from '../redis-client.ts';
import { isFinal, isFinalType, logged, nextTurn, pumpFailure, replay } from './plan.ts';
import {
  DEFAULT_REPLY_LOG_SIZE,
  LOG_DELETED_CHANNEL,
  type LoggedEvent,
  type PumpHandle,
  type ReplyListener,
  type ReplyLog,
} from './types.ts';

export interface RedisReplyLogOptions {
  url: string;
  /** Tells the other instances that a session was deleted. */
  broker: Broker;
  /** At least this many events are kept per session for resume. */
  size?: number;
  /** A session's stream expires this long after its last event (0: never), like the session. */
  ttlMs: number;
  /** Whether a session still exists (a feed idle past the TTL is ended when it does not). */
  exists?: (sessionId: string) => Promise<boolean>;
  /** Who this instance is, in the lease (for an operator reading Redis). */
  instanceId?: string;
  /** Default REDIS_KEY_PREFIX, like the session store's keys. */
  keyPrefix?: string;
  /** The lease of a reply in flight: it lapses this long after its producer last renewed it. */
  leaseTtlMs?: number;
  /** Connection trouble and failed reads (once per outage), replies that could not be published. */
  logger?: Logger;
  /** Every connection error, and every failed read or append. */
  onError?: (error: Error) => void;
}

/** How long a reply's lease lives without renewal: a dead producer is noticed within about this. */
export const LEASE_TTL_MS = 3_000;
/** How often readers look for replies in flight whose lease lapsed. */
export const LEASE_CHECK_MS = 500;
/** How long one XREAD blocks (below the client's command time-out, 2 s). */
export const READ_BLOCK_MS = 1_000;
/** How long a pump keeps trying to put its events in Redis after a failed append. */
export const APPEND_RECOVERY_MS = 5_000;
/** The message of the `error` event that ends a reply whose producer stopped. */
export const ABANDONED_MESSAGE =
  "the reply's instance stopped (it died or lost Redis) before the reply ended; send the message again";
/** Entries per stream per XREAD: a long burst is read in slices, other sessions in between. */
const READ_COUNT = 512;
/** Appends a pump sends before it waits for Redis to acknowledge them (pipelining). */
const MAX_APPENDS_IN_FLIGHT = 256;
/** After a failed XREAD or append (Redis away), wait this long before trying again. */
const RETRY_MS = 100;
/** At shutdown, how long to wait for the reader to deliver the replies' final events. */
const CLOSE_DELIVERY_TIMEOUT_MS = 1_000;

/** `<n>-0` of the newest entry, as n (0: empty). In Lua: `newest(key)`. */
const LUA_NEWEST = `
local function newest(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0, nil end
  return tonumber(string.match(last[1][1], '^%d+')), last[1][2]
end
local function expire(key, ttl)
  if tonumber(ttl) > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
`;

const scripts = {
  // KEYS: stream, lease. ARGV: seq, type, data, maxlen, ttlMs, leaseMs, owner, reply.
  // Returns -1 when appended, else the newest seq (the append was not the next one: refused).
  appendEvent: defineScript({
    NUMBER_OF_KEYS: 2,
    SCRIPT: `${LUA_NEWEST}
local seq = tonumber(ARGV[1])
local n = newest(KEYS[1])
if n ~= seq - 1 then return n end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], ARGV[1] .. '-0', 'type', ARGV[2], 'reply', ARGV[8], 'data', ARGV[3])
expire(KEYS[1], ARGV[5])
if ARGV[2] == 'done' or ARGV[2] == 'error' then
  redis.call('DEL', KEYS[2])
elseif ARGV[2] == 'start' then
  redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[6])
end
return -1`,
    parseCommand(parser: CommandParser, keys: [string, string], item: LoggedEvent, ...args: string[]) {
      parser.pushKeys(keys);
      parser.push(String(item.seq), item.type, item.data, ...args, item.messageId);
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
  // KEYS: stream, lease. ARGV: expected newest seq (-1: any), message, maxlen, ttlMs.
  // A reply in flight (newest not final) without a lease gets its final error. Returns its seq, or 0.
  abandon: defineScript({
    NUMBER_OF_KEYS: 2,
    SCRIPT: `${LUA_NEWEST}
local n, fields = newest(KEYS[1])
if n == 0 then return 0 end
if tonumber(ARGV[1]) >= 0 and n ~= tonumber(ARGV[1]) then return 0 end
local kind, reply
for i = 1, #fields, 2 do
  if fields[i] == 'type' then kind = fields[i + 1] elseif fields[i] == 'reply' then reply = fields[i + 1] end
end
if kind == 'done' or kind == 'error' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local failure = { type = 'error', error = { code = 'unavailable', message = ARGV[2] } }
if reply then failure.messageId = reply end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], (n + 1) .. '-0', 'type', 'error', 'reply', reply or '', 'data', cjson.encode(failure))
expire(KEYS[1], ARGV[4])
return n + 1`,
    parseCommand(parser: CommandParser, keys: [string, string], ...args: string[]) {
      parser.pushKeys(keys);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
};

type Commands = RedisClient<typeof scripts>;

/** A local listener: while it replays, live events wait in `pending`. */
interface Subscriber {
  listener: ReplyListener;
  /** Seq of the last event sent to it; live events up to it are skipped. */
  sentSeq: number;
  pending: LoggedEvent[] | undefined;
}

/** One session read on this instance: its stream cursor and its local listeners. */
interface Feed {
  sessionId: string;
  key: string;
  /** The last entry id read (`<n>-0`); undefined until `ready`. */
  cursor: string | undefined;
  /** Type of the newest event read: a reply is in flight while it is not final. */
  lastType: string | undefined;
  /** Date.now() of the newest event read (or of the feed's creation). */
  touchedAt: number;
  ready: Promise<void>;
  subscribers: Set<Subscriber>;
}

export class RedisReplyLog implements ReplyLog {
  readonly kind = 'redis' as const;
  readonly #commands: Commands;
  /** Blocks in XREAD: a blocked connection can do nothing else. */
  readonly #reader: RedisClient;
  readonly #options: RedisReplyLogOptions;
  readonly #size: number;
  readonly #leaseTtlMs: number;
  readonly #key: (...parts: string[]) => string;
  readonly #logger: Logger;
  readonly #readFailures: ReturnType<typeof outageLog>;
  readonly #feeds = new Map<string, Feed>();
  readonly #pumps = new Map<string, Promise<void>>();
  /** The seq of the last event each local pump appended (to deliver it before shutdown). */
  readonly #appended = new Map<string, number>();
  #readerId: number | undefined;
  #feedsChanged = false;
  #reading = false;
  #wakeIdle: (() => void) | undefined;
  #readLoop: Promise<void> | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #checking = false;
  #lastExpirySweep = Date.now();
  #unsubscribeDeleted: (() => Promise<void>) | undefined;
  #closed = false;

  private constructor(options: RedisReplyLogOptions) {
    this.#options = options;
    this.#size = Math.max(1, options.size ?? DEFAULT_REPLY_LOG_SIZE);
    this.#leaseTtlMs = options.leaseTtlMs ?? LEASE_TTL_MS;
    this.#key = redisKeys(options.keyPrefix);
    this.#logger = options.logger ?? silentLogger;
    this.#readFailures = outageLog(
      this.#logger,
      'cannot read the reply log; listeners here get nothing until Redis answers',
      'reading the reply log again',
    );
    const common = {
      url: options.url,
      logger: this.#logger,
      ...(options.onError ? { onError: options.onError } : {}),
    };
    this.#commands = createRedisClient({ ...common, scripts, name: 'reply log commands' });
    this.#reader = createRedisClient({ ...common, name: 'reply log reader' });
    // After a reconnection the reader is a new Redis client, with a new CLIENT ID.
    this.#reader.on('ready', () => {
      this.#readerId = undefined;
    });
  }

  /** A log whose connections are up, or `unavailable` (and nothing left open). */
  static async connect(options: RedisReplyLogOptions): Promise<RedisReplyLog> {
    const log = new RedisReplyLog(options);
    try {
      await Promise.all([
        whenReady(log.#commands, { what: 'the reply log' }),
        whenReady(log.#reader, { what: 'the reply log' }),
      ]);
      log.#unsubscribeDeleted = await options.broker.subscribe(LOG_DELETED_CHANNEL, (sessionId) => {
        log.drop(sessionId);
      });
    } catch (error) {
      await Promise.allSettled([closeRedisClient(log.#commands), closeRedisClient(log.#reader)]);
      throw error;
    }
    log.#readLoop = log.#read();
    log.#watchdog = setInterval(() => void log.#check(), Math.min(LEASE_CHECK_MS, log.#leaseTtlMs / 2));
    log.#watchdog.unref();
    return log;
  }

  async subscribe(sessionId: string, listener: ReplyListener, after?: number): Promise<() => void> {
    const feed = this.#feed(sessionId);
    const subscriber: Subscriber = { listener, sentSeq: Number.MAX_SAFE_INTEGER, pending: [] };
    feed.subscribers.add(subscriber);
    const unsubscribe = () => {
      feed.subscribers.delete(subscriber);
      if (feed.subscribers.size === 0 && this.#feeds.get(sessionId) === feed) {
        this.#feeds.delete(sessionId);
        this.#feedsChanged = true;
      }
    };
    try {
      // The feed's cursor is set before we read the stream: whatever the feed misses, XRANGE has.
      await feed.ready;
      const kept = ((await this.#bounded(this.#commands.xRange(feed.key, '-', '+'))) ?? []).map(entryToEvent);
      replay(listener, kept, after, this.#size);
      subscriber.sentSeq = kept.at(-1)?.seq ?? 0;
      const pending = subscriber.pending ?? [];
      subscriber.pending = undefined;
      for (const item of pending) deliver(subscriber, item, pending.at(-1)!.seq);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  async pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<PumpHandle> {
    if (this.#pumps.has(sessionId)) throw new Error(`session ${sessionId} already has a reply in flight`);
    const keys = this.#keys(sessionId);
    let seq: number;
    try {
      // A reply left unfinished by a dead instance gets its final error before ours starts.
      await this.#bounded(this.#abandon(keys, -1));
      // Only the instance holding the session's reply lock appends: the newest seq is ours to extend.
      seq = (await this.#newest(keys[0])).seq + 1;
    } catch (error) {
      await rest.return?.(undefined).catch(() => undefined);
      throw error;
    }
    const firstSeq = seq;
    /** Appended, not yet confirmed by Redis. */
    let window: { item: LoggedEvent; result: Promise<boolean> }[] = [];
    let failed = false;
    const send = (item: LoggedEvent): Promise<boolean> =>
      this.#append(keys, item)
        .then(
          (reply) => reply === -1,
          (error: unknown) => {
            this.#options.onError?.(error as Error);
            return false;
          },
        )
        .then((ok) => {
          if (!ok) failed = true;
          return ok;
        });
    /** Wait for the window; if anything failed, put what Redis lacks there again, in order. */
    const confirm = async () => {
      const results = await Promise.all(window.map((w) => w.result));
      if (results.every(Boolean) && !failed) {
        window = [];
        return;
      }
      await this.#recover(
        keys[0],
        window.map((w) => w.item),
      );
      window = [];
      failed = false;
    };
    const append = async (event: ChatEvent) => {
      const item = logged(seq, event, start.messageId);
      seq += 1;
      this.#appended.set(sessionId, item.seq);
      window.push({ item, result: send(item) });
      if (failed || window.length >= MAX_APPENDS_IN_FLIGHT) await confirm();
      // The reply's lock is released when we ask for the event after the final one; another
      // instance may then append. Our appends must be in Redis before that.
      if (isFinal(event)) await confirm();
    };
    const renew = setInterval(() => {
      this.#bounded(this.#commands.pExpire(keys[1], this.#leaseTtlMs)).catch(() => undefined);
    }, this.#leaseTtlMs / 3);
    renew.unref();
    const run = async () => {
      let ended = false;
      try {
        for (;;) {
          const step = await rest.next();
          if (step.done) break;
          await append(step.value);
          if (isFinal(step.value)) {
            ended = true;
            break;
          }
        }
      } catch (error) {
        this.#options.onError?.(error as Error);
        this.#logger.error(
          { err: error, sessionId, messageId: start.messageId },
          'the reply could not be published to its listeners',
        );
        // The reply itself failed (ChatService makes that an event; this is the belt to those
        // braces), or Redis stayed away: then this append fails too, and the lease lapses.
        if (!ended) await append(pumpFailure(start, error)).catch(() => undefined);
      } finally {
        clearInterval(renew);
        // Unfinished (Redis away: nobody can see it): stop the reply; the partial text is kept.
        await rest.return?.(undefined).catch(() => undefined);
        this.#pumps.delete(sessionId);
        if (!this.#feeds.has(sessionId)) this.#appended.delete(sessionId);
      }
    };
    // The start first, confirmed: the caller subscribes from its seq.
    try {
      await append(start);
      await confirm();
    } catch (error) {
      clearInterval(renew);
      await rest.return?.(undefined).catch(() => undefined);
      throw error;
    }
    const finished = run();
    this.#pumps.set(sessionId, finished);
    return { seq: firstSeq, finished };
  }

  drop(sessionId: string): number {
    const feed = this.#feeds.get(sessionId);
    if (!feed) return 0;
    const subscribers = [...feed.subscribers];
    for (const { listener } of subscribers) listener.close();
    return subscribers.length;
  }

  async delete(sessionId: string): Promise<void> {
    this.drop(sessionId);
    await this.#bounded(this.#commands.del(this.#keys(sessionId)));
    await this.#options.broker.publish(LOG_DELETED_CHANNEL, sessionId);
  }

  async settle(): Promise<void> {
    // The replies here were cancelled by the server; their final events go to Redis first...
    await Promise.allSettled(this.#pumps.values());
    // ...then, read back by the reader, to the listeners of this instance.
    const deadline = performance.now() + CLOSE_DELIVERY_TIMEOUT_MS;
    while (!this.#delivered() && performance.now() < deadline) await nextTurn();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#watchdog);
    await this.settle();
    for (const sessionId of [...this.#feeds.keys()]) this.drop(sessionId);
    this.#closed = true;
    this.#wake();
    await this.#readLoop;
    await this.#unsubscribeDeleted?.().catch(() => undefined);
    await Promise.allSettled([closeRedisClient(this.#commands), closeRedisClient(this.#reader)]);
  }

  /**
   * Both connections up and the commands connection answering a PING within a short deadline
   * (the reader blocks in XREAD: it can only say whether it is connected). Never throws.
   */
  async ping(): Promise<boolean> {
    if (this.#closed || !this.#commands.isReady || !this.#reader.isReady) return false;
    try {
      return (await withDeadline(this.#commands.ping(), DEPENDENCY_PING_TIMEOUT_MS)) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Feeds (sessions with a listener on this instance), for tests. */
  get feedCount(): number {
    return this.#feeds.size;
  }

  /** [stream, lease] of a session. */
  #keys(sessionId: string): [string, string] {
    const stream = this.#key('log', sessionId);
    return [stream, `${stream}:lease`];
  }

  #owner(): string {
    return this.#options.instanceId ?? `pid ${process.pid}`;
  }

  /** A one-shot command, within our own deadline (node-redis stops timing it once written). */
  #bounded<T>(command: Promise<T>): Promise<T> {
    return withDeadline(command, REDIS_COMMAND_TIMEOUT_MS);
  }

  /** -1 when appended, else the newest seq (not the next one: refused). */
  #append(keys: [string, string], item: LoggedEvent): Promise<number> {
    return this.#commands.appendEvent(
      keys,
      item,
      String(this.#size),
      String(this.#options.ttlMs),
      String(this.#leaseTtlMs),
      this.#owner(),
    );
  }

  #abandon(keys: [string, string], expectedSeq: number): Promise<number> {
    return this.#commands.abandon(
      keys,
      String(expectedSeq),
      ABANDONED_MESSAGE,
      String(this.#size),
      String(this.#options.ttlMs),
    );
  }

  /**
   * Some appends failed (a connection blip): find the newest event Redis has and append the
   * ones after it again, in order, until they are all in or APPEND_RECOVERY_MS has passed.
   */
  async #recover(key: string, unconfirmed: LoggedEvent[]): Promise<void> {
    const deadline = Date.now() + APPEND_RECOVERY_MS;
    const first = unconfirmed[0]?.seq ?? 0;
    const last = unconfirmed.at(-1)?.seq ?? 0;
    for (;;) {
      try {
        const newest = (await this.#newest(key)).seq;
        if (newest < first - 1 || newest > last) {
          throw new Error(`the reply log moved on (newest event ${newest}, ours ${first}..${last})`);
        }
        const keys: [string, string] = [key, `${key}:lease`];
        for (const item of unconfirmed.filter((u) => u.seq > newest)) {
          const reply = await this.#bounded(this.#append(keys, item));
          if (reply !== -1) throw new Error(`append of event ${item.seq} refused (newest ${reply})`);
        }
        return;
      } catch (error) {
        if (Date.now() > deadline || String(error).includes('moved on')) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  #feed(sessionId: string): Feed {
    const existing = this.#feeds.get(sessionId);
    if (existing) return existing;
    const feed: Feed = {
      sessionId,
      key: this.#keys(sessionId)[0],
      cursor: undefined,
      lastType: undefined,
      touchedAt: Date.now(),
      subscribers: new Set(),
      ready: Promise.resolve(),
    };
    feed.ready = this.#newest(feed.key).then((newest) => {
      feed.cursor = `${newest.seq}-0`;
      feed.lastType = newest.type;
      this.#feedsChanged = true;
      this.#wake();
    });
    feed.ready.catch(() => {
      if (this.#feeds.get(sessionId) === feed) this.#feeds.delete(sessionId);
    });
    this.#feeds.set(sessionId, feed);
    return feed;
  }

  /**
   * The watchdog: a reply in flight, read here, whose producer is not here and whose lease
   * lapsed, gets its final error (once, whichever instance is first). And a feed idle past the
   * session TTL whose session is gone has its listeners ended.
   */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      for (const feed of [...this.#feeds.values()]) {
        if (feed.cursor === undefined || feed.lastType === undefined || isFinalType(feed.lastType)) continue;
        if (this.#pumps.has(feed.sessionId)) continue;
        const seq = entryNumber(feed.cursor);
        const written = await this.#bounded(this.#abandon(this.#keys(feed.sessionId), seq)).catch(() => 0);
        if (written > 0) {
          this.#logger.warn(
            { sessionId: feed.sessionId, seq: written },
            'a reply lost its producer (lease lapsed); ended it with an unavailable error',
          );
        }
      }
      const ttlMs = this.#options.ttlMs;
      const exists = this.#options.exists;
      if (ttlMs > 0 && exists && Date.now() - this.#lastExpirySweep > Math.min(ttlMs / 4, 60_000)) {
        this.#lastExpirySweep = Date.now();
        for (const feed of [...this.#feeds.values()]) {
          if (Date.now() - feed.touchedAt <= ttlMs || this.#pumps.has(feed.sessionId)) continue;
          if (await exists(feed.sessionId).catch(() => true)) feed.touchedAt = Date.now();
          else this.drop(feed.sessionId);
        }
      }
    } finally {
      this.#checking = false;
    }
  }

  /** The reader: one XREAD for every session with listeners here, then fan-out. */
  async #read(): Promise<void> {
    while (!this.#closed) {
      const feeds = [...this.#feeds.values()].filter((feed) => feed.cursor !== undefined);
      this.#feedsChanged = false;
      if (feeds.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wakeIdle = resolve;
        });
        this.#wakeIdle = undefined;
        continue;
      }
      let reply: Awaited<ReturnType<RedisClient['xRead']>>;
      try {
        this.#readerId ??= await this.#bounded(this.#reader.clientId());
        this.#reading = true;
        reply = await withDeadline(
          this.#reader.xRead(
            feeds.map((feed) => ({ key: feed.key, id: feed.cursor! })),
            { BLOCK: READ_BLOCK_MS, COUNT: READ_COUNT },
          ),
          READ_BLOCK_MS + REDIS_COMMAND_TIMEOUT_MS,
        );
      } catch (error) {
        if (this.#closed) break;
        this.#options.onError?.(error as Error);
        this.#readFailures.failed(error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      } finally {
        this.#reading = false;
      }
      this.#readFailures.recovered();
      for (const stream of (reply ?? []) as StreamReply[]) {
        const feed = feeds.find((f) => f.key === stream.name);
        if (!feed) continue;
        const newestSeq = entryNumber(stream.messages.at(-1)?.id ?? '0');
        for (const entry of stream.messages) {
          feed.cursor = entry.id;
          const item = entryToEvent(entry);
          feed.lastType = item.type;
          feed.touchedAt = Date.now();
          for (const subscriber of feed.subscribers) deliver(subscriber, item, newestSeq);
        }
        const appended = this.#appended.get(feed.sessionId);
        if (
          appended !== undefined &&
          entryNumber(feed.cursor!) >= appended &&
          !this.#pumps.has(feed.sessionId)
        ) {
          this.#appended.delete(feed.sessionId);
        }
      }
    }
  }

  /** A new feed, or shutdown: make the reader start its next XREAD now. */
  #wake(): void {
    this.#wakeIdle?.();
    if (!this.#reading) return;
    const unblock = async () => {
      // The XREAD may not have reached Redis yet (CLIENT UNBLOCK answers 0): try again shortly.
      while (this.#reading && (this.#feedsChanged || this.#closed)) {
        const readerId = this.#readerId;
        if (readerId !== undefined && (await this.#bounded(this.#commands.clientUnblock(readerId)))) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    unblock().catch(() => undefined);
  }

  /** True when the reader has read every event the local pumps appended, for the sessions it reads. */
  #delivered(): boolean {
    for (const [sessionId, seq] of this.#appended) {
      const cursor = this.#feeds.get(sessionId)?.cursor;
      if (cursor !== undefined && entryNumber(cursor) < seq) return false;
    }
    return true;
  }

  /** The session's newest event: its seq (0 when the stream is empty or gone) and type. */
  async #newest(key: string): Promise<{ seq: number; type: string | undefined }> {
    const [newest] = (await this.#bounded(this.#commands.xRevRange(key, '+', '-', { COUNT: 1 }))) ?? [];
    return newest ? { seq: entryNumber(newest.id), type: newest.message.type } : { seq: 0, type: undefined };
  }
}

interface StreamEntry {
  id: string;
  message: Record<string, string>;
}

interface StreamReply {
  name: string;
  messages: StreamEntry[];
}

/** `42-0` → 42. */
function entryNumber(entryId: string): number {
  return Number.parseInt(entryId, 10);
}

function entryToEvent(entry: StreamEntry): LoggedEvent {
  return {
    seq: entryNumber(entry.id),
    type: entry.message.type as LoggedEvent['type'],
    messageId: entry.message.reply ?? '',
    data: entry.message.data ?? '{}',
  };
}

/**
 * Hand a live event to a subscriber (or hold it while the subscriber replays). A session's events
 * are consecutive, so an event past the next one means the ones between were trimmed (MAXLEN)
 * before this instance's reader, or the subscriber's replay, got to them: the listener is told
 * plainly (a reset that replays nothing, naming `newestSeq`, the newest event read, as a replay's
 * reset names the newest kept), then gets the event and the live tail; its client takes the
 * missing text from the history.
 */
function deliver(subscriber: Subscriber, item: LoggedEvent, newestSeq: number): void {
  if (subscriber.pending) {
    subscriber.pending.push(item);
  } else if (item.seq > subscriber.sentSeq) {
    if (item.seq > subscriber.sentSeq + 1) {
      const from = subscriber.sentSeq + 1;
      const missed = item.seq - 1 > from ? `events ${from}–${item.seq - 1} were` : `event ${from} was`;
      subscriber.listener.reset(
        Math.max(newestSeq, item.seq),
        `${missed} dropped from the log (it keeps a bounded number) before they could be read here`,
        false,
      );
    }
    subscriber.sentSeq = item.seq;
    subscriber.listener.send(item);
  }
}
