import { randomUUID } from 'node:crypto';
import { type Broker, LocalBroker } from './broker.ts';
import type { Config } from './config.ts';
import {
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_HISTORY_MESSAGES,
  DEFAULT_MAX_MESSAGE_CHARS,
} from './constants.ts';
import { abortReason, ChatError } from './errors.ts';
import type { ChatEvent, Message, Session } from './events.ts';
import { createLogger, type Logger, silentLogger } from './logger.ts';
import { createModel } from './model/create.ts';
import type { ModelProvider, ModelStreamResult } from './model/types.ts';
import { MemorySessionStore, type SessionRecord, type SessionStore } from './session-store.ts';
import { Stats, type StatsSnapshot } from './stats.ts';
import { startTracing, type TraceCarrier, tracedModel } from './tracing.ts';
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
  /**
   * Where a failed reply is logged, with its cause (the `error` event only carries the code and
   * message). Defaults to silence; `create()` and `fromConfig()` make one from LOG_LEVEL.
   */
  logger?: Logger;
}

export interface ReplyOptions {
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
  /** The server's logger: transports and the Redis classes log through it (or a child of it). */
  readonly logger: Logger;
  readonly #running = new Map<string, AbortController>();
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
    this.logger = options.logger ?? silentLogger;
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
    if (!config.redisUrl || overrides.store) {
      const chat = ChatService.fromConfig(config, protocol, { ...overrides, logger });
      await chat.ready();
      return chat;
    }
    const { RedisSessionStore, RedisBroker } = await import('./redis.ts');
    const url = config.redisUrl;
    const store = await RedisSessionStore.connect({
      url,
      ttlMs: config.sessionTtlMs,
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
    const chat = ChatService.fromConfig(config, protocol, { ...overrides, store, broker, logger });
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
      logger: overrides.logger ?? createLogger(config, { protocol }),
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

  async createSession(): Promise<Session> {
    return this.toSession(await this.store.create());
  }

  async getSession(id: string): Promise<Session> {
    return this.toSession(await this.#record(id));
  }

  async listSessions(): Promise<Session[]> {
    const records = await this.store.list();
    return records.map((r) => this.toSession(r)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async deleteSession(id: string): Promise<void> {
    this.cancel(id);
    if (!(await this.store.delete(id))) throw ChatError.sessionNotFound(id);
  }

  async history(id: string): Promise<Message[]> {
    return (await this.#record(id)).messages;
  }

  async clearHistory(id: string): Promise<void> {
    if (this.#running.has(id)) throw busy(id);
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
  async cancelReply(sessionId: string, reason = 'cancelled by the client'): Promise<boolean> {
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
    await this.#unsubscribe?.();
    await this.store.close();
    await this.broker.close();
  }

  /** What /health reports about the shared state: whether the store and broker answer. */
  async dependencies(): Promise<{ store: boolean; broker: boolean }> {
    const [store, broker] = await Promise.all([this.store.ping(), this.broker.ping()]);
    return { store, broker };
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

  reply(sessionId: string, text: unknown, options: ReplyOptions = {}): AsyncGenerator<ChatEvent, void> {
    // A `chat.turn` span around the turn (turn-telemetry.ts), and its tokens counted.
    return instrumentTurn(this.stats, this.stats.protocol, sessionId, options.traceContext, () =>
      this.#turn(sessionId, text, options),
    );
  }

  async *#turn(sessionId: string, text: unknown, options: ReplyOptions): AsyncGenerator<ChatEvent, void> {
    const userText = this.validateText(text);
    const record = await this.#record(sessionId);
    if (this.#running.size >= this.maxConcurrentStreams) {
      throw new ChatError(
        'rate_limited',
        `the server is at its limit of ${this.maxConcurrentStreams} replies in flight (MAX_CONCURRENT_STREAMS); retry shortly`,
      );
    }
    if (!(await this.store.tryLock(sessionId))) throw busy(sessionId);

    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#running.set(sessionId, controller);
    const endStream = this.stats.streamOpened();

    const messageId = randomUUID();
    const startedAt = performance.now();
    let ttftMs: number | undefined;
    let partial = '';
    let index = 0;
    let settled = false;
    let stream: AsyncGenerator<string, ModelStreamResult> | undefined;
    const timings = () => {
      const totalMs = round(performance.now() - startedAt);
      return { ttftMs: round(ttftMs ?? totalMs), totalMs };
    };
    const keepPartial = async () => {
      settled = true;
      this.stats.recordTurn('cancelled');
      await this.store.appendTurn(sessionId, { role: 'model', text: partial, interrupted: true });
    };
    /** After `start`, a failure is an event: the user turn is rolled back where the store allows. */
    const failed = async (error: unknown): Promise<ChatEvent> => {
      settled = true;
      await this.store.popTurn(sessionId).catch((rollbackError: unknown) => {
        this.logger.warn(
          { err: rollbackError, sessionId, messageId },
          'cannot roll back the user turn of a failed reply',
        );
      });
      const failure = ChatError.from(error);
      this.logger.error({ err: error, sessionId, messageId, code: failure.code }, 'reply failed');
      this.stats.recordTurn('failed');
      this.stats.recordError(failure.code);
      return { type: 'error', messageId, error: failure.toJSON() };
    };

    try {
      await this.store.appendTurn(sessionId, { role: 'user', text: userText });
      const history: Message[] = [...record.messages, { role: 'user', text: userText }];
      yield { type: 'start', sessionId, messageId };

      let result: ModelStreamResult;
      try {
        stream = this.model.stream(recentHistory(history, this.maxHistoryMessages), {
          signal: controller.signal,
        });
        for (;;) {
          const step = await stream.next();
          if (step.done) {
            result = step.value;
            break;
          }
          ttftMs ??= performance.now() - startedAt;
          partial += step.value;
          yield { type: 'delta', messageId, index: index++, text: step.value };
        }
      } catch (error) {
        if (controller.signal.aborted) {
          try {
            await keepPartial();
          } catch (storeError) {
            const failure = ChatError.from(storeError);
            this.logger.error(
              { err: storeError, sessionId, messageId, code: failure.code },
              'cannot keep the partial text of a cancelled reply',
            );
            yield { type: 'error', messageId, error: failure.toJSON() };
            return;
          }
          const outputTokens = index;
          yield {
            type: 'done',
            messageId,
            finishReason: 'cancelled',
            usage: { inputTokens: 0, outputTokens },
            timings: timings(),
          };
          return;
        }
        yield await failed(error);
        return;
      }

      settled = true;
      try {
        await this.store.appendTurn(sessionId, { role: 'model', text: partial });
      } catch (storeError) {
        yield await failed(storeError);
        return;
      }
      const t = timings();
      this.stats.recordTurn('completed', t);
      yield {
        type: 'done',
        messageId,
        finishReason: result.finishReason,
        usage: result.usage ?? { inputTokens: 0, outputTokens: index },
        timings: t,
      };
    } finally {
      if (!settled) {
        // The consumer stopped iterating (a client went away): stop the model, keep what it said.
        controller.abort(abortReason('the consumer stopped reading'));
        await keepPartial().catch((storeError: unknown) => {
          this.logger.warn(
            { err: storeError, sessionId, messageId },
            'cannot keep the partial text of a reply whose reader went away',
          );
        });
      }
      await stream?.return(undefined as never).catch(() => undefined);
      options.signal?.removeEventListener('abort', onAbort);
      this.#running.delete(sessionId);
      endStream();
      await this.store.unlock(sessionId).catch(() => undefined);
    }
  }

  async #record(id: string): Promise<SessionRecord> {
    const record = await this.store.get(id);
    if (!record) throw ChatError.sessionNotFound(id);
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
