import { randomUUID } from 'node:crypto';
import { ANONYMOUS_PRINCIPAL } from './access.ts';
import { type Broker, LocalBroker } from './broker.ts';
import type { Config } from './config.ts';
import {
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_HISTORY_MESSAGES,
  DEFAULT_MAX_MESSAGE_CHARS,
  DEFAULT_MAX_REPLY_CHARS,
  DEFAULT_SESSION_PAGE,
  MAX_SESSION_PAGE,
} from './constants.ts';
import { abortReason, ChatError } from './errors.ts';
import type { ChatEvent, Message, Session, StartEvent } from './events.ts';
import { createLogger, type Logger, silentLogger } from './logger.ts';
import { createModel } from './model/create.ts';
import type { ModelProvider, ModelStreamResult } from './model/types.ts';
import { MemoryReplyLog } from './reply-log/memory.ts';
import type { ReplyLog } from './reply-log/types.ts';
import {
  MemorySessionStore,
  ownerOf,
  type SessionRecord,
  type SessionStore,
  type TurnEnd,
  type TurnResult,
} from './session-store.ts';
import { Stats, type StatsSnapshot } from './stats.ts';
import { startTracing, type TraceCarrier, tracedModel, tracingStarted } from './tracing.ts';
import { instrumentTurn } from './turn-telemetry.ts';

export interface ChatServiceOptions {
  store: SessionStore;
  /** Reaches the other instances (cancel a reply running elsewhere). Defaults to a LocalBroker. */
  broker?: Broker;
  model: ModelProvider;
  /** Defaults to a fresh Stats labelled "core". */
  stats?: Stats;
  maxMessageChars?: number;
  /** The model sees at most this many recent messages. */
  maxHistoryMessages?: number;
  /** Replies in flight at once; past it `reply()` throws rate_limited. */
  maxConcurrentStreams?: number;
  /** The longest reply kept, characters (whatever the provider); past it: finishReason max_tokens. */
  maxReplyChars?: number;
  /**
   * Where a failed reply is logged, with its cause (the `error` event only carries the code and
   * message). Defaults to silence; `create()` and `fromConfig()` make one from LOG_LEVEL.
   */
  logger?: Logger;
  /** Where replies started with `startReply()` are numbered and kept for resume. Default: in memory. */
  log?: ReplyLog;
  /** Events kept per session by the default (memory) log. */
  replyLogSize?: number;
  /** The default log forgets a session idle this long (its TTL; 0: DEFAULT_REPLY_LOG_IDLE_MS). */
  replyLogIdleMs?: number;
}

/** `startReply()`'s options. */
export interface StartReplyOptions extends ReplyOptions {
  /**
   * Fields added to the `start` event as the log keeps it (the WebSocket server: the
   * `connectionId` of the member who asked, so that every member can tell whose reply it is).
   */
  startFields?: Record<string, string>;
  /** Called with the `start` before it enters the log (the reply is certain to run from here). */
  onStart?: (start: StartEvent) => void;
}

/**
 * Who is asking (the Access's principal). A session belongs to the principal that created it and
 * to those its owner invited; to anyone else it does not exist (`session_not_found`, never a
 * hint). Default `anonymous`, the one principal of a server without authentication.
 */
export interface CallerOptions {
  principal?: string | undefined;
}

/** One page of sessions (`GET /sessions?limit=&cursor=`, ListSessions). */
export interface SessionListPage {
  sessions: Session[];
  nextCursor?: string;
}

export interface ReplyOptions extends CallerOptions {
  /** Aborting it cancels the reply: the model stops and the partial text is kept, interrupted. */
  signal?: AbortSignal;
  /** The caller's W3C trace context (`traceparent`): gRPC metadata, a WebSocket frame's fields. */
  traceContext?: TraceCarrier;
}

/**
 * The only place that runs a turn. Transports call `reply()` and serialise what it yields.
 *
 * Contract of `reply()`:
 * - Bad input, an unknown session or a busy session are *thrown* as ChatError before the first
 *   event, so HTTP transports can still answer with a status code.
 * - After `start`, failures arrive as an `error` event (the user turn is rolled back) and
 *   cancellation as `done` with finishReason `cancelled` (the partial text is kept, interrupted).
 * - A consumer that stops iterating (`break`, `return()`) cancels the turn the same way.
 */
export class ChatService {
  readonly store: SessionStore;
  readonly broker: Broker;
  readonly model: ModelProvider;
  readonly stats: Stats;
  readonly maxMessageChars: number;
  readonly maxHistoryMessages: number;
  readonly maxConcurrentStreams: number;
  readonly maxReplyChars: number;
  /** The server's logger: transports and the Redis classes log through it (or a child of it). */
  readonly logger: Logger;
  /** Every reply started with `startReply()`, numbered per session: what transports resume from. */
  readonly log: ReplyLog;
  readonly #running = new Map<string, AbortController>();
  /** Concurrency slots taken (MAX_CONCURRENT_STREAMS): reserved synchronously when a reply starts. */
  #slotsTaken = 0;
  #subscription: Promise<void> | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: ChatServiceOptions) {
    this.store = options.store;
    this.broker = options.broker ?? new LocalBroker();
    this.model = tracedModel(options.model); // a `model.stream` span per call when tracing is on
    this.stats = options.stats ?? new Stats('core');
    this.maxMessageChars = options.maxMessageChars ?? DEFAULT_MAX_MESSAGE_CHARS;
    this.maxHistoryMessages = options.maxHistoryMessages ?? DEFAULT_MAX_HISTORY_MESSAGES;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    this.maxReplyChars = options.maxReplyChars ?? DEFAULT_MAX_REPLY_CHARS;
    this.logger = options.logger ?? silentLogger;
    this.log =
      options.log ??
      new MemoryReplyLog({
        ...(options.replyLogSize ? { size: options.replyLogSize } : {}),
        ...(options.replyLogIdleMs ? { idleMs: options.replyLogIdleMs } : {}),
        exists: (id) => this.sessionExists(id),
      });
  }

  /** Whether the session exists (for the log: an expired session's listeners are ended). */
  async sessionExists(id: string): Promise<boolean> {
    return (await this.store.get(id)) !== undefined;
  }

  /**
   * A service for a server: with REDIS_URL, sessions, reply locks and cancels are shared with
   * the other instances through Redis; without it, everything lives in this process.
   */
  static async create(
    config: Config,
    protocol: string,
    overrides: Partial<ChatServiceOptions> = {},
  ): Promise<ChatService> {
    const logger = overrides.logger ?? createLogger(config, { protocol });
    // With OTEL_EXPORTER_OTLP_ENDPOINT the SDK loads now, so a server listens with tracing on.
    if (startTracing(config, protocol)) await tracingStarted();
    if (!config.redisUrl || overrides.store) {
      const chat = ChatService.fromConfig(config, protocol, { ...overrides, logger });
      await chat.ready();
      return chat;
    }
    const { RedisSessionStore, RedisBroker, RedisReplyLog } = await import('./redis.ts');
    const url = config.redisUrl;
    const store = await RedisSessionStore.connect({
      url,
      ttlMs: config.sessionTtlMs,
      lockTtlMs: config.redisLockTtlMs,
      logger: logger.child({ component: 'redis-store' }),
    });
    let broker: Broker;
    try {
      broker =
        overrides.broker ??
        (await RedisBroker.connect({ url, logger: logger.child({ component: 'redis-broker' }) }));
    } catch (error) {
      await store.close();
      throw error;
    }
    let log: ReplyLog;
    try {
      log =
        overrides.log ??
        (await RedisReplyLog.connect({
          url,
          broker,
          ...(overrides.replyLogSize ? { size: overrides.replyLogSize } : {}),
          ttlMs: config.sessionTtlMs,
          exists: async (id) => (await store.get(id)) !== undefined,
          instanceId: `${protocol} pid ${process.pid}`,
          logger: logger.child({ component: 'reply-log' }),
        }));
    } catch (error) {
      await store.close();
      if (!overrides.broker) await broker.close();
      throw error;
    }
    const chat = ChatService.fromConfig(config, protocol, { ...overrides, store, broker, logger, log });
    await chat.ready();
    return chat;
  }

  /** A service with the in-memory store and the model the configuration asks for. */
  static fromConfig(
    config: Config,
    protocol: string,
    overrides: Partial<ChatServiceOptions> = {},
  ): ChatService {
    startTracing(config, protocol); // only with OTEL_EXPORTER_OTLP_ENDPOINT
    return new ChatService({
      store: overrides.store ?? new MemorySessionStore({ ttlMs: config.sessionTtlMs }),
      ...(overrides.broker ? { broker: overrides.broker } : {}),
      model: overrides.model ?? createModel(config),
      stats: overrides.stats ?? new Stats(protocol),
      maxMessageChars: overrides.maxMessageChars ?? config.maxMessageChars,
      maxHistoryMessages: overrides.maxHistoryMessages ?? config.maxHistoryMessages,
      maxConcurrentStreams: overrides.maxConcurrentStreams ?? config.maxConcurrentStreams,
      maxReplyChars: overrides.maxReplyChars ?? config.maxReplyChars,
      logger: overrides.logger ?? createLogger(config, { protocol }),
      ...(overrides.log ? { log: overrides.log } : {}),
      ...(overrides.replyLogSize ? { replyLogSize: overrides.replyLogSize } : {}),
      replyLogIdleMs: overrides.replyLogIdleMs ?? config.sessionTtlMs,
    });
  }

  toSession(record: SessionRecord): Session {
    return {
      id: record.id,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      messageCount: record.messages.length,
      model: this.model.info,
    };
  }

  async createSession(caller: CallerOptions = {}): Promise<Session> {
    return this.toSession(await this.store.create(principalOf(caller)));
  }

  async getSession(id: string, caller: CallerOptions = {}): Promise<Session> {
    return this.toSession(await this.#record(id, caller));
  }

  /**
   * The caller's sessions (owned or shared with them), oldest first, one page at a time, without
   * reading any history. `limit` is clamped to 1..MAX_SESSION_PAGE; `cursor` is a page's
   * `nextCursor`.
   */
  async listSessions(
    caller: CallerOptions & { limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<SessionListPage> {
    const limit = Math.min(MAX_SESSION_PAGE, Math.max(1, Math.floor(caller.limit ?? DEFAULT_SESSION_PAGE)));
    const cursor = caller.cursor ? decodeCursor(caller.cursor) : undefined;
    const page = await this.store.page(principalOf(caller), { limit, cursor });
    return {
      sessions: page.sessions.map((summary) => ({ ...summary, model: this.model.info })),
      ...(page.nextCursor ? { nextCursor: Buffer.from(page.nextCursor).toString('base64url') } : {}),
    };
  }

  /**
   * Invite `member` into a session (its owner only): from then on it lists, reads, joins, sends
   * and cancels in it like the owner, but cannot delete it or invite others. Idempotent.
   */
  async shareSession(id: string, member: string, caller: CallerOptions = {}): Promise<Session> {
    const record = await this.#record(id, caller);
    if (ownerOf(record) !== principalOf(caller)) {
      throw new ChatError('forbidden', 'only the owner of a session can invite others into it');
    }
    if (typeof member !== 'string' || member.length === 0 || member.length > MAX_PRINCIPAL_CHARS) {
      throw new ChatError('invalid_request', `principal must be 1 to ${MAX_PRINCIPAL_CHARS} characters`);
    }
    if (!(await this.store.addMember(id, member))) throw ChatError.sessionNotFound(id);
    return this.toSession(record);
  }

  /** Throws `session_not_found` unless the caller may use the session (its owner or a member). */
  async authorize(id: string, caller: CallerOptions = {}): Promise<void> {
    await this.#record(id, caller);
  }

  /** Deletes the session and cancels its reply, wherever it runs (here, or through the broker). */
  async deleteSession(id: string, caller: CallerOptions = {}): Promise<void> {
    const record = await this.#record(id, caller);
    if (ownerOf(record) !== principalOf(caller)) {
      throw new ChatError('forbidden', 'only the owner of a session can delete it');
    }
    await this.cancelReply(id, 'the session was deleted');
    if (!(await this.store.delete(id))) throw ChatError.sessionNotFound(id);
    // Every instance ends the session's streams and forgets its events (the reply log's broker).
    await this.log.delete(id).catch((error: unknown) => {
      this.logger.warn({ err: error, sessionId: id }, 'cannot delete the reply log of a deleted session');
    });
  }

  /**
   * The history. A user turn at its end while no reply runs anywhere is an orphan (its holder
   * died before answering): it is not shown, and the next reply drops it (`beginTurn`).
   */
  async history(id: string, caller: CallerOptions = {}): Promise<Message[]> {
    const { messages } = await this.#record(id, caller);
    if (messages.at(-1)?.role !== 'user' || this.#running.has(id)) return messages;
    return (await this.store.isLocked(id)) ? messages : messages.slice(0, -1);
  }

  /** session_busy while a reply runs for the session, on this instance or another. */
  async clearHistory(id: string, caller: CallerOptions = {}): Promise<void> {
    await this.#record(id, caller);
    if (this.#running.has(id) || (await this.store.isLocked(id))) throw busy(id);
    if (!(await this.store.clear(id))) throw ChatError.sessionNotFound(id);
  }

  /** Cancel the reply running for this session in this process. False when none was running. */
  cancel(sessionId: string, reason = 'cancelled by the client'): boolean {
    const controller = this.#running.get(sessionId);
    if (!controller) return false;
    controller.abort(abortReason(reason));
    return true;
  }

  /**
   * Cancel the session's reply wherever it runs: here directly, on another instance through
   * the broker. True when a reply was running (here, or holding the session's lock elsewhere).
   */
  async cancelReply(
    sessionId: string,
    reason = 'cancelled by the client',
    caller?: CallerOptions,
  ): Promise<boolean> {
    // Internal callers (a room nobody is left in, a deletion) pass no caller: already checked.
    if (caller) await this.#record(sessionId, caller);
    if (this.cancel(sessionId, reason)) return true;
    if (!(await this.store.isLocked(sessionId))) return false;
    await this.broker.publish(CANCEL_CHANNEL, JSON.stringify({ sessionId, reason }));
    return true;
  }

  /** Listen for cancels published by other instances. Idempotent; `create()` calls it. */
  ready(): Promise<void> {
    this.#subscription ??= this.broker
      .subscribe(CANCEL_CHANNEL, (message) => {
        try {
          const { sessionId, reason } = JSON.parse(message) as { sessionId: string; reason?: string };
          this.cancel(sessionId, reason);
        } catch {
          // not ours: ignore
        }
      })
      .then((unsubscribe) => {
        this.#unsubscribe = unsubscribe;
      });
    return this.#subscription;
  }

  /** Cancel what runs here, stop listening, close the store and the broker. */
  async close(): Promise<void> {
    this.cancelAll();
    await this.log.close();
    await this.#unsubscribe?.();
    await this.store.close();
    await this.broker.close();
  }

  /**
   * What /health reports about the shared state: whether the store, the broker and the reply
   * log's own connections answer (a reply nobody can read is as broken as a lost store).
   */
  async dependencies(): Promise<{ store: boolean; broker: boolean; log: boolean }> {
    const [store, broker, log] = await Promise.all([this.store.ping(), this.broker.ping(), this.log.ping()]);
    return { store, broker, log };
  }

  /** Cancel every reply running in this process (shutdown). Returns how many were running. */
  cancelAll(reason = 'the server is shutting down'): number {
    for (const id of this.#running.keys()) this.cancel(id, reason);
    return this.#running.size;
  }

  /** Resolves once no reply is running in this process, or after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#running.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  isReplying(sessionId: string): boolean {
    return this.#running.has(sessionId);
  }

  async snapshot(): Promise<StatsSnapshot> {
    return this.stats.snapshot(await this.store.count());
  }

  /** The user's text, checked: a non-empty string within the size limit. */
  validateText(text: unknown): string {
    if (typeof text !== 'string') throw new ChatError('invalid_request', 'text must be a string');
    if (text.trim().length === 0) throw new ChatError('invalid_request', 'text must not be empty');
    if (text.length > this.maxMessageChars) {
      throw new ChatError(
        'payload_too_large',
        `message is ${text.length} characters; the limit is ${this.maxMessageChars} (MAX_MESSAGE_CHARS)`,
      );
    }
    return text;
  }

  /**
   * Start a reply into the session's log (`this.log`), for the streaming transports: they then
   * read it with `log.subscribe(sessionId, listener, seq - 1)`, from its start, and a dropped
   * client resumes from its last seq, on any instance. Resolves once the reply runs (its `start`
   * is in the log); it goes on whoever listens, until done, an error, or `signal` aborts.
   * Bad input, an unknown session, a busy session or the server's limit are thrown before
   * anything, as `reply()` throws them.
   */
  async startReply(
    sessionId: string,
    text: unknown,
    options: StartReplyOptions = {},
  ): Promise<{ start: StartEvent; seq: number; finished: Promise<void> }> {
    const { startFields, onStart, ...replyOptions } = options;
    const events = this.reply(sessionId, text, replyOptions);
    const first = await events.next();
    if (first.done || first.value.type !== 'start') {
      await events.return();
      throw new ChatError('internal', 'the reply did not start');
    }
    const start = first.value;
    onStart?.(start);
    const logged = startFields ? { ...startFields, ...start } : start;
    try {
      const { seq, finished } = await this.log.pump(sessionId, logged, events);
      return { start, seq, finished };
    } catch (error) {
      // The log is unreachable (Redis away): the pump has stopped the reply already.
      await events.return();
      throw ChatError.from(error);
    }
  }

  /**
   * Runs one turn. The order is the contract across instances:
   * 1. the concurrency slot is reserved synchronously, before any await, so parallel starts
   *    cannot overshoot MAX_CONCURRENT_STREAMS;
   * 2. `beginTurn` takes the lock, appends the user turn and reads the history in one atomic
   *    store call, so the model sees the history as it is under the lock;
   * 3. `endTurn` writes the outcome (the model turn, the partial text, or the rollback) and
   *    releases the lock in one atomic store call, and the slot is freed, BEFORE the final event
   *    is yielded: a client that read `done` can send its next message at once, anywhere.
   */
  reply(sessionId: string, text: unknown, options: ReplyOptions = {}): AsyncGenerator<ChatEvent, void> {
    // A `chat.turn` span around the turn (turn-telemetry.ts), and its tokens counted.
    return instrumentTurn(this.stats, this.stats.protocol, sessionId, options.traceContext, () =>
      this.#turn(sessionId, text, options),
    );
  }

  async *#turn(sessionId: string, text: unknown, options: ReplyOptions): AsyncGenerator<ChatEvent, void> {
    const userText = this.validateText(text);
    if (this.#slotsTaken >= this.maxConcurrentStreams) {
      throw new ChatError(
        'rate_limited',
        `the server is at its limit of ${this.maxConcurrentStreams} replies in flight (MAX_CONCURRENT_STREAMS); retry shortly`,
      );
    }
    this.#slotsTaken += 1;
    let slotHeld = true;
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      this.#slotsTaken -= 1;
    };

    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    let turn: Awaited<ReturnType<SessionStore['beginTurn']>>;
    try {
      // After the slot is reserved (no await before it): may this caller use the session?
      await this.#record(sessionId, options);
      turn = await this.store.beginTurn(
        sessionId,
        { role: 'user', text: userText },
        {
          onLockLost: () =>
            controller.abort(new ChatError('unavailable', 'the session lock was lost (expired or deleted)')),
        },
      );
    } catch (error) {
      freeSlot();
      throw error;
    }
    if (turn.status !== 'started') {
      freeSlot();
      throw turn.status === 'busy' ? busy(sessionId) : ChatError.sessionNotFound(sessionId);
    }
    const { lock } = turn;
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#running.set(sessionId, controller);
    const endStream = this.stats.streamOpened();

    const messageId = randomUUID();
    const startedAt = performance.now();
    let ttftMs: number | undefined;
    let partial = '';
    /** Deltas yielded: the output tokens when the model reports none. */
    let pieces = 0;
    let ended = false;
    let stream: AsyncGenerator<string, ModelStreamResult> | undefined;
    const timings = () => {
      const totalMs = round(performance.now() - startedAt);
      return { ttftMs: round(ttftMs ?? totalMs), totalMs };
    };
    /** The store's end of the turn (outcome + unlock, atomically), then this process's. */
    const endTurn = async (outcome: TurnResult): Promise<TurnEnd> => {
      ended = true;
      try {
        return await this.store.endTurn(sessionId, lock, outcome);
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        if (this.#running.get(sessionId) === controller) this.#running.delete(sessionId);
        freeSlot();
        endStream();
      }
    };
    /** A cancelled turn keeps its partial text, interrupted, only if there is some. */
    const cancelledOutcome = (): TurnResult =>
      partial ? { model: { role: 'model', text: partial, interrupted: true } } : { rollback: true };
    /** A failure after `start` is an event; the user turn is rolled back. */
    const failure = (error: unknown): ChatEvent => {
      const failed = ChatError.from(error);
      this.logger.error({ err: error, sessionId, messageId, code: failed.code }, 'reply failed');
      this.stats.recordTurn('failed');
      this.stats.recordError(failed.code);
      return { type: 'error', messageId, error: failed.toJSON() };
    };
    const lost = () =>
      new ChatError(
        'unavailable',
        `session ${sessionId} was taken over while replying; the reply was not kept`,
      );

    try {
      yield { type: 'start', sessionId, messageId };

      let result: ModelStreamResult | undefined;
      try {
        stream = this.model.stream(recentHistory(turn.messages, this.maxHistoryMessages), {
          signal: controller.signal,
        });
        while (!result) {
          const step = await stream.next();
          if (step.done) {
            result = step.value;
            break;
          }
          let chunk = step.value;
          const room = this.maxReplyChars - partial.length;
          if (chunk.length > room) {
            // The cap (MAX_REPLY_CHARS), whatever the provider: keep what fits, stop the model.
            chunk = chunk.slice(0, room);
            result = { finishReason: 'max_tokens' };
            await stream.return(undefined as never).catch(() => undefined);
          }
          if (!chunk) continue;
          ttftMs ??= performance.now() - startedAt;
          partial += chunk;
          pieces += 1;
          yield { type: 'delta', text: chunk };
        }
      } catch (error) {
        if (!controller.signal.aborted) {
          let rollback: unknown;
          await endTurn({ rollback: true }).catch((storeError: unknown) => {
            rollback = storeError;
          });
          if (rollback) {
            this.logger.warn(
              { err: rollback, sessionId, messageId },
              'cannot roll back the user turn of a failed reply',
            );
          }
          yield failure(error);
          return;
        }
        let end: TurnEnd;
        try {
          end = await endTurn(cancelledOutcome());
        } catch (storeError) {
          yield failure(storeError);
          return;
        }
        if (end === 'lost') {
          yield failure(lost());
          return;
        }
        this.stats.recordTurn('cancelled');
        yield {
          type: 'done',
          messageId,
          finishReason: 'cancelled',
          usage: { inputTokens: 0, outputTokens: pieces },
          timings: timings(),
        };
        return;
      }

      let end: TurnEnd;
      try {
        end = await endTurn({ model: { role: 'model', text: partial } });
      } catch (storeError) {
        yield failure(storeError);
        return;
      }
      if (end !== 'ok') {
        yield failure(end === 'lost' ? lost() : ChatError.sessionNotFound(sessionId));
        return;
      }
      const t = timings();
      this.stats.recordTurn('completed', t);
      yield {
        type: 'done',
        messageId,
        finishReason: result.finishReason,
        usage: result.usage ?? { inputTokens: 0, outputTokens: pieces },
        timings: t,
      };
    } finally {
      if (!ended) {
        // The consumer stopped iterating (a client went away): stop the model, keep what it said.
        controller.abort(abortReason('the consumer stopped reading'));
        const outcome = cancelledOutcome();
        await endTurn(outcome)
          .then(() => this.stats.recordTurn('cancelled'))
          .catch((storeError: unknown) => {
            this.logger.warn(
              { err: storeError, sessionId, messageId },
              'cannot keep the partial text of a reply whose reader went away',
            );
          });
      }
      await stream?.return(undefined as never).catch(() => undefined);
    }
  }

  /** The record, when the caller may use it; to anyone else it does not exist. */
  async #record(id: string, caller: CallerOptions = {}): Promise<SessionRecord> {
    const record = await this.store.get(id);
    const principal = principalOf(caller);
    if (!record || (ownerOf(record) !== principal && !record.members?.includes(principal))) {
      throw ChatError.sessionNotFound(id);
    }
    return record;
  }
}

function busy(id: string): ChatError {
  return new ChatError(
    'session_busy',
    `session ${id} is already replying; wait for it to finish or cancel it`,
  );
}

/**
 * The most recent messages, at most `max`, starting with a user turn: what the model is sent.
 * The stored history is never cut; the system prompt is not part of it and is always sent.
 */
export function recentHistory(history: readonly Message[], max: number): Message[] {
  const recent = history.slice(-max);
  return recent[0]?.role === 'model' ? recent.slice(1) : recent;
}

const IDLE_POLL_MS = 5;
/** The broker channel on which instances ask each other to cancel a reply. */
export const CANCEL_CHANNEL = 'cancel';

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The longest principal a share grant names. */
const MAX_PRINCIPAL_CHARS = 256;

function principalOf(caller: CallerOptions): string {
  return caller.principal ?? ANONYMOUS_PRINCIPAL;
}

/** A listing cursor from a client: ours (base64url of `createdAt|id`), or invalid_request. */
function decodeCursor(cursor: string): string {
  const key = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!/^\d{4}-\d\d-\d\dT[\d:.]+Z\|[0-9a-f-]{36}$/.test(key)) {
    throw new ChatError('invalid_request', 'cursor is not one this server gave out (use nextCursor)');
  }
  return key;
}
