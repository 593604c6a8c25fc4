import {
  type ChatServer,
  ChatService,
  type Config,
  MemorySessionStore,
  type Message,
  type ModelProvider,
  type ModelStreamOptions,
  type ModelStreamResult,
  SimulatedModel,
  type SimulatedModelOptions,
  Stats,
} from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { createServer } from '../server.ts';

/**
 * The simulated model, plus a record of what the server asked of it: the AbortSignal of every
 * stream and the moment each token left the model (same clock as the test's arrival times).
 */
export class RecordingModel implements ModelProvider {
  readonly #inner: SimulatedModel;
  readonly signals: AbortSignal[] = [];
  readonly tokenTimes: number[] = [];

  constructor(options: Partial<SimulatedModelOptions> = {}) {
    this.#inner = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, ...options });
  }

  get info() {
    return this.#inner.info;
  }

  compose(history: readonly Message[]): string {
    return this.#inner.compose(history);
  }

  async *stream(
    history: readonly Message[],
    options: ModelStreamOptions = {},
  ): AsyncGenerator<string, ModelStreamResult> {
    if (options.signal) this.signals.push(options.signal);
    const tokens = this.#inner.stream(history, options);
    try {
      for (;;) {
        const step = await tokens.next();
        if (step.done) return step.value;
        this.tokenTimes.push(performance.now());
        yield step.value;
      }
    } finally {
      await tokens.return(undefined as never);
    }
  }
}

export interface Started {
  server: ChatServer;
  url: string;
  chat: ChatService;
  model: RecordingModel;
  close(): Promise<void>;
}

/** A real server on an ephemeral loopback port, over a recording simulated model. */
export async function start(
  options: { model?: Partial<SimulatedModelOptions>; config?: Partial<Config>; resumeGraceMs?: number } = {},
): Promise<Started> {
  const config = testConfig(options.config);
  const model = new RecordingModel(options.model);
  const chat = new ChatService({
    store: new MemorySessionStore(),
    model,
    stats: new Stats('streamable-http'),
    maxMessageChars: config.maxMessageChars,
  });
  const server = await createServer({
    config,
    chat,
    ...(options.resumeGraceMs !== undefined ? { resumeGraceMs: options.resumeGraceMs } : {}),
  });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url, chat, model, close: () => server.close() };
}

export async function createSession(url: string): Promise<string> {
  const response = await request(`${url}/sessions`, { method: 'POST' });
  return ((await response.body.json()) as { id: string }).id;
}

/** POST a message with a raw body (any string), as a misbehaving client would. */
export function postRaw(url: string, sessionId: string, body: string, signal?: AbortSignal) {
  return request(`${url}/sessions/${sessionId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    ...(signal ? { signal } : {}),
  });
}
