/**
 * The EventHub of several server instances (REDIS_URL): each session's events in a Redis Stream,
 * so that a listener on any instance gets every reply, and `Last-Event-ID` resumes anywhere.
 *
 *   gtp:sse:<sessionId>   stream   one entry per event: fields `type` and `data` (the JSON)
 *
 * - Ids. A stream entry id is two numbers, `<ms>-<seq>`; we choose it ourselves as `<n>-0`, where
 *   n is the session's event sequence (the newest entry + 1). So the SSE `id:`, the entry id and
 *   the XREAD cursor are the same number, with no counter key beside the stream. Only the
 *   instance holding the session's reply lock appends, so two instances never pick the same n;
 *   a pump waits for its appends to land before the lock is released (see `pump`).
 * - Bounded. `XADD … MAXLEN ~ bufferSize`: Redis trims old entries in whole blocks, so at least
 *   bufferSize events stay available for resume. The stream expires with the session's TTL.
 * - Reading. One connection per instance blocks in `XREAD BLOCK … STREAMS <every session with a
 *   listener here>`, each session with its own cursor, and fans the entries out to the local
 *   listeners. A listener is never a Redis connection. When a session gets its first listener,
 *   `CLIENT UNBLOCK` wakes the reader so that it adds the new stream at once.
 * - Resume. A new listener joins its session's live feed first (buffering), then reads what the
 *   stream keeps (`XRANGE`), replays per `replayPlan`, and skips the live events it has already
 *   been sent: nothing can fall between the replay and the live feed, nothing arrives twice.
 * - Delete. The session's stream is deleted, and the broker tells every instance to end its
 *   streams of that session.
 */
import { type Broker, type ChatEvent, type Logger, type StartEvent, silentLogger } from '@gtp/core';
import {
  closeRedisClient,
  createRedisClient,
  outageLog,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  redisKeys,
  whenReady,
  withDeadline,
} from '@gtp/core/redis';
import {
  type EventHub,
  type HubListener,
  isFinal,
  nextTurn,
  pumpFailure,
  replayPlan,
  type SequencedEvent,
  sequenced,
} from './session-hub.ts';

export interface RedisEventHubOptions {
  url: string;
  /** Tells the other instances that a session was deleted. */
  broker: Broker;
  /** At least this many events are kept per session for resume. */
  bufferSize: number;
  /** A session's stream expires this long after its last reply (0: never), like the session. */
  ttlMs: number;
  /** Default REDIS_KEY_PREFIX, like the session store's keys. */
  keyPrefix?: string;
  /** Connection trouble and failed reads (once per outage), replies that could not be published. */
  logger?: Logger;
  /** Every connection error, and every failed read or append. */
  onError?: (error: Error) => void;
}

/**
 * How long one XREAD blocks. The reader loops anyway; this only has to stay below the client's
 * command time-out (REDIS_COMMAND_TIMEOUT_MS, 2 s), which also applies to a blocked command.
 */
export const READ_BLOCK_MS = 1_000;
/** Entries per stream per XREAD: a long burst is read in slices, other sessions in between. */
const READ_COUNT = 512;
/** Appends a pump sends before it waits for Redis to acknowledge the oldest (pipelining). */
const MAX_APPENDS_IN_FLIGHT = 256;
/** After a failed XREAD (Redis away), wait this long before trying again. */
const READ_RETRY_MS = 200;
/** At shutdown, how long to wait for the reader to deliver the replies' final events. */
const CLOSE_DELIVERY_TIMEOUT_MS = 1_000;
const DELETED_CHANNEL = 'sse:deleted';

/** A local listener: while it replays, live events wait in `pending`. */
interface Subscriber {
  listener: HubListener;
  /** Id of the last event sent to it; live events up to it are skipped. */
  sentId: number;
  pending: SequencedEvent[] | undefined;
}

/** One session read on this instance: its stream cursor and its local listeners. */
interface Feed {
  sessionId: string;
  key: string;
  /** The last entry id read (`<n>-0`); undefined until `ready`. */
  cursor: string | undefined;
  ready: Promise<void>;
  subscribers: Set<Subscriber>;
}

export class RedisEventHub implements EventHub {
  readonly #commands: RedisClient;
  /** Blocks in XREAD: a blocked connection can do nothing else. */
  readonly #reader: RedisClient;
  readonly #options: RedisEventHubOptions;
  readonly #key: (...parts: string[]) => string;
  readonly #logger: Logger;
  /** Failed XREADs while Redis is away: logged once, and once when reading works again. */
  readonly #readFailures: ReturnType<typeof outageLog>;
  readonly #feeds = new Map<string, Feed>();
  readonly #pumps = new Map<string, Promise<void>>();
  /** The id of the last event each local pump appended (to deliver it before shutdown). */
  readonly #appended = new Map<string, number>();
  #readerId: number | undefined;
  /** The set of feeds changed: the next XREAD must include them. */
  #feedsChanged = false;
  #reading = false;
  #wakeIdle: (() => void) | undefined;
  #readLoop: Promise<void> | undefined;
  #unsubscribeDeleted: (() => Promise<void>) | undefined;
  #closed = false;

  private constructor(options: RedisEventHubOptions) {
    this.#options = options;
    this.#key = redisKeys(options.keyPrefix);
    this.#logger = options.logger ?? silentLogger;
    this.#readFailures = outageLog(
      this.#logger,
      'cannot read the event streams; listeners here get nothing until Redis answers',
      'reading the event streams again',
    );
    const common = {
      url: options.url,
      logger: this.#logger,
      ...(options.onError ? { onError: options.onError } : {}),
    };
    this.#commands = createRedisClient({ ...common, name: 'sse commands' });
    this.#reader = createRedisClient({ ...common, name: 'sse reader' });
    // After a reconnection the reader is a new Redis client, with a new CLIENT ID.
    this.#reader.on('ready', () => {
      this.#readerId = undefined;
    });
  }

  /** A hub whose connections are up, or `unavailable` (and nothing left open). */
  static async connect(options: RedisEventHubOptions): Promise<RedisEventHub> {
    const hub = new RedisEventHub(options);
    try {
      await Promise.all([
        whenReady(hub.#commands, { what: 'the SSE event hub' }),
        whenReady(hub.#reader, { what: 'the SSE event hub' }),
      ]);
    } catch (error) {
      await Promise.allSettled([closeRedisClient(hub.#commands), closeRedisClient(hub.#reader)]);
      throw error;
    }
    hub.#unsubscribeDeleted = await options.broker.subscribe(DELETED_CHANNEL, (sessionId) => {
      hub.drop(sessionId);
    });
    hub.#readLoop = hub.#read();
    return hub;
  }

  async subscribe(sessionId: string, listener: HubListener, lastEventId?: number): Promise<() => void> {
    const feed = this.#feed(sessionId);
    const subscriber: Subscriber = { listener, sentId: Number.MAX_SAFE_INTEGER, pending: [] };
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
      const plan = replayPlan(kept, lastEventId, this.#options.bufferSize);
      if (plan.reset) listener.reset(kept.at(-1)?.id ?? 0, plan.reset, plan.events.length > 0);
      for (const item of plan.events) listener.send(item);
      subscriber.sentId = kept.at(-1)?.id ?? 0;
      const pending = subscriber.pending ?? [];
      subscriber.pending = undefined;
      for (const item of pending) deliver(subscriber, item);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<void> {
    if (this.#pumps.has(sessionId)) throw new Error(`session ${sessionId} already has a reply in flight`);
    const key = this.#streamKey(sessionId);
    const run = async () => {
      const inFlight: Promise<unknown>[] = [];
      let failure: unknown;
      let id = 0;
      const append = async (event: ChatEvent) => {
        id += 1;
        this.#appended.set(sessionId, id);
        const item = sequenced(id, event);
        const added = this.#commands.xAdd(
          key,
          `${id}-0`,
          { type: item.type, data: item.data },
          { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.#options.bufferSize } },
        );
        // Commands on one connection run in order, so appends need not wait for each other.
        inFlight.push(
          added.catch((error: unknown) => {
            failure ??= error;
          }),
        );
        if (id === 1 || isFinal(event)) inFlight.push(this.#expire(key));
        if (inFlight.length >= MAX_APPENDS_IN_FLIGHT) await inFlight.shift();
        // The reply's lock is released when we ask for the event after the final one; another
        // instance may then append. Our appends must be in Redis before that.
        if (isFinal(event)) await Promise.all(inFlight.splice(0));
      };
      try {
        // Only the instance holding the session's reply lock appends: the newest id is ours to extend.
        id = await this.#newestId(key);
        await append(start);
        for (;;) {
          if (failure) throw failure;
          const step = await rest.next();
          if (step.done) break;
          await append(step.value);
        }
      } catch (error) {
        this.#options.onError?.(error as Error);
        this.#logger.error(
          { err: error, sessionId, messageId: start.messageId },
          'the reply could not be published to its listeners',
        );
        // The reply itself failed (ChatService makes that an event; this is the belt to those
        // braces). When Redis failed, this append fails too, quietly.
        if (!failure) await append(pumpFailure(start, error)).catch(() => undefined);
      } finally {
        // Unfinished (Redis away: nobody can see it): stop the reply; the partial text is kept.
        await rest.return?.(undefined).catch(() => undefined);
        await Promise.all(inFlight);
        this.#pumps.delete(sessionId);
        if (!this.#feeds.has(sessionId)) this.#appended.delete(sessionId);
      }
    };
    const running = run();
    this.#pumps.set(sessionId, running);
    return running;
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
    await this.#bounded(this.#commands.del(this.#streamKey(sessionId)));
    await this.#options.broker.publish(DELETED_CHANNEL, sessionId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // The replies here were cancelled by the server; their final events go to Redis first...
    await Promise.allSettled(this.#pumps.values());
    // ...then, read back by the reader, to the listeners of this instance.
    const deadline = performance.now() + CLOSE_DELIVERY_TIMEOUT_MS;
    while (!this.#delivered() && performance.now() < deadline) await nextTurn();
    for (const sessionId of [...this.#feeds.keys()]) this.drop(sessionId);
    this.#closed = true;
    this.#wake();
    await this.#readLoop;
    await this.#unsubscribeDeleted?.();
    await Promise.allSettled([closeRedisClient(this.#commands), closeRedisClient(this.#reader)]);
  }

  #streamKey(sessionId: string): string {
    return this.#key('sse', sessionId);
  }

  /** A one-shot command, within our own deadline (node-redis stops timing it once written). */
  #bounded<T>(command: Promise<T>): Promise<T> {
    return withDeadline(command, REDIS_COMMAND_TIMEOUT_MS);
  }

  #feed(sessionId: string): Feed {
    const existing = this.#feeds.get(sessionId);
    if (existing) return existing;
    const feed: Feed = {
      sessionId,
      key: this.#streamKey(sessionId),
      cursor: undefined,
      subscribers: new Set(),
      ready: Promise.resolve(),
    };
    feed.ready = this.#newestId(feed.key).then((newest) => {
      feed.cursor = `${newest}-0`;
      this.#feedsChanged = true;
      this.#wake();
    });
    feed.ready.catch(() => {
      if (this.#feeds.get(sessionId) === feed) this.#feeds.delete(sessionId);
    });
    this.#feeds.set(sessionId, feed);
    return feed;
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
        this.#readerId ??= await this.#reader.clientId();
        this.#reading = true;
        reply = await this.#reader.xRead(
          feeds.map((feed) => ({ key: feed.key, id: feed.cursor! })),
          { BLOCK: READ_BLOCK_MS, COUNT: READ_COUNT },
        );
      } catch (error) {
        if (this.#closed) break;
        this.#options.onError?.(error as Error);
        this.#readFailures.failed(error);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      } finally {
        this.#reading = false;
      }
      this.#readFailures.recovered();
      for (const stream of (reply ?? []) as StreamReply[]) {
        const feed = feeds.find((f) => f.key === stream.name);
        if (!feed) continue;
        for (const entry of stream.messages) {
          feed.cursor = entry.id;
          const item = entryToEvent(entry);
          for (const subscriber of feed.subscribers) deliver(subscriber, item);
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
        if (readerId !== undefined && (await this.#commands.clientUnblock(readerId))) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    unblock().catch(() => undefined);
  }

  /** True when the reader has read every event the local pumps appended, for the sessions it reads. */
  #delivered(): boolean {
    for (const [sessionId, id] of this.#appended) {
      const cursor = this.#feeds.get(sessionId)?.cursor;
      if (cursor !== undefined && entryNumber(cursor) < id) return false;
    }
    return true;
  }

  /** The sequence number of the session's newest event; 0 when its stream is empty or gone. */
  async #newestId(key: string): Promise<number> {
    const [newest] = (await this.#bounded(this.#commands.xRevRange(key, '+', '-', { COUNT: 1 }))) ?? [];
    return newest ? entryNumber(newest.id) : 0;
  }

  /** The stream lives as long as an idle session does (SESSION_TTL_MS). */
  #expire(key: string): Promise<unknown> {
    const ttlMs = this.#options.ttlMs;
    return (ttlMs > 0 ? this.#commands.pExpire(key, ttlMs) : this.#commands.persist(key)).catch(
      () => undefined,
    );
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

function entryToEvent(entry: StreamEntry): SequencedEvent {
  return {
    id: entryNumber(entry.id),
    type: entry.message.type as SequencedEvent['type'],
    data: entry.message.data ?? '{}',
  };
}

function deliver(subscriber: Subscriber, item: SequencedEvent): void {
  if (subscriber.pending) {
    subscriber.pending.push(item);
  } else if (item.id > subscriber.sentId) {
    subscriber.sentId = item.id;
    subscriber.listener.send(item);
  }
}
