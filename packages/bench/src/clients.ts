/**
 * What the benchmark drives: a protocol's own ClientAdapter, or the bare client of a floor.
 * Both look the same to the measurements: get ready, hold an idle connection, send a turn.
 */

import * as grpc from '@grpc/grpc-js';
import type { ChatEvent, Protocol } from '@gtp/core';
import type { ClientAdapter } from '@gtp/core/cli';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { chatServiceClass, type FloorKind, loadChatProto } from './floors.ts';
import type { CreateAdapter } from './protocols.ts';

export interface BenchClient {
  /** Ready to send (session created; WebSocket joined; SSE stream open). Returns the session id. */
  ready(): Promise<string>;
  /** Open the client's connection and leave it idle (in a shared session where one is needed). */
  idle(sharedSessionId: string): Promise<void>;
  send(sessionId: string, text: string, options?: { signal?: AbortSignal }): AsyncIterable<ChatEvent>;
  close(): Promise<void>;
}

/** A protocol's ClientAdapter, as the benchmark uses it. */
export class AdapterClient implements BenchClient {
  readonly adapter: ClientAdapter;

  constructor(createAdapter: CreateAdapter, target: string) {
    this.adapter = createAdapter(target);
  }

  async ready(): Promise<string> {
    const session = await this.adapter.createSession();
    await this.adapter.useSession?.(session.id);
    return session.id;
  }

  async idle(sharedSessionId: string): Promise<void> {
    if (this.adapter.useSession) await this.adapter.useSession(sharedSessionId);
    else await this.adapter.health();
  }

  send(sessionId: string, text: string, options?: { signal?: AbortSignal }): AsyncIterable<ChatEvent> {
    return this.adapter.send(sessionId, text, options);
  }

  close(): Promise<void> {
    return this.adapter.close();
  }
}

const START = { type: 'start', sessionId: 'floor', messageId: 'floor' } as const;

/** Split a byte stream into lines, buffering the partial last one. */
async function* lines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of body) {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  }
  if (buffered) yield buffered;
}

/** The bare client of an HTTP floor: undici, one keep-alive connection. */
class HttpFloorClient implements BenchClient {
  readonly #kind: 'json' | 'ndjson' | 'sse';
  readonly #target: string;
  readonly #agent = new Agent({ connections: 2 });
  #idleBody: { destroy(): void } | undefined;

  constructor(kind: 'json' | 'ndjson' | 'sse', target: string) {
    this.#kind = kind;
    this.#target = target;
  }

  async ready(): Promise<string> {
    const res = await request(`${this.#target}/health`, { dispatcher: this.#agent });
    await res.body.text();
    return 'floor';
  }

  async idle(): Promise<void> {
    if (this.#kind !== 'sse') {
      await this.ready();
      return;
    }
    const res = await request(`${this.#target}/idle`, { dispatcher: this.#agent });
    this.#idleBody = res.body;
    res.body.on('error', () => undefined);
  }

  async *send(
    _sessionId: string,
    text: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatEvent> {
    const res = await request(`${this.#target}/reply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      dispatcher: this.#agent,
      signal: options.signal,
    });
    if (this.#kind === 'json') {
      const reply = (await res.body.json()) as { text: string };
      yield START;
      yield { type: 'delta', text: reply.text };
      yield {
        type: 'done',
        messageId: 'floor',
        finishReason: 'stop',
        usage: { inputTokens: 0, outputTokens: 0 },
        timings: { ttftMs: 0, totalMs: 0 },
      };
      return;
    }
    for await (const line of lines(res.body)) {
      if (this.#kind === 'ndjson') {
        if (line) yield JSON.parse(line) as ChatEvent;
      } else if (line.startsWith('data: ')) {
        // A delta's data is its text alone, a JSON string (`data: "Hel"`), as on the SSE server.
        const data = JSON.parse(line.slice(6)) as ChatEvent | string;
        yield typeof data === 'string' ? { type: 'delta', text: data } : data;
      }
    }
  }

  async close(): Promise<void> {
    this.#idleBody?.destroy();
    await this.#agent.destroy();
  }
}

/** The bare client of the ws floor: one socket, a JSON frame per event. */
class WsFloorClient implements BenchClient {
  readonly #url: string;
  #socket: WebSocket | undefined;
  #waiting: ((event: ChatEvent | Error) => void) | undefined;
  readonly #queue: (ChatEvent | Error)[] = [];

  constructor(target: string) {
    this.#url = target.replace(/^http/, 'ws');
  }

  async #open(): Promise<WebSocket> {
    if (this.#socket) return this.#socket;
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    const push = (item: ChatEvent | Error) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(item);
      else this.#queue.push(item);
    };
    socket.on('message', (data) => push(JSON.parse(String(data)) as ChatEvent));
    socket.on('close', () => push(new Error('the floor closed the socket')));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return socket;
  }

  async ready(): Promise<string> {
    await this.#open();
    return 'floor';
  }

  async idle(): Promise<void> {
    await this.#open();
  }

  async *send(_sessionId: string, text: string): AsyncGenerator<ChatEvent> {
    const socket = await this.#open();
    socket.send(JSON.stringify({ text }));
    for (;;) {
      const item =
        this.#queue.shift() ?? (await new Promise<ChatEvent | Error>((resolve) => (this.#waiting = resolve)));
      if (item instanceof Error) throw item;
      yield item;
      if (item.type === 'done' || item.type === 'error') return;
    }
  }

  async close(): Promise<void> {
    this.#socket?.terminate();
  }
}

type StreamCall = (request: {
  sessionId: string;
  text: string;
}) => grpc.ClientReadableStream<Record<string, unknown>>;

/** The bare client of the grpc floor: one channel, StreamMessage. */
class GrpcFloorClient implements BenchClient {
  static #Service: ReturnType<typeof chatServiceClass> | undefined;
  readonly #client: grpc.Client;

  constructor(target: string) {
    GrpcFloorClient.#Service ??= chatServiceClass(loadChatProto());
    // One connection per client, as the server's client (packages/grpc/client.ts) has: with
    // grpc-js's shared pool all the floor's clients would be one HTTP/2 connection.
    this.#client = new GrpcFloorClient.#Service(target, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  async ready(): Promise<string> {
    await new Promise<void>((resolve, reject) =>
      this.#client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
    );
    return 'floor';
  }

  idle(): Promise<void> {
    return this.ready().then(() => undefined);
  }

  async *send(
    sessionId: string,
    text: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatEvent> {
    const call = (this.#client as unknown as { StreamMessage: StreamCall }).StreamMessage({
      sessionId,
      text,
    });
    const onAbort = () => call.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of call) {
        const type = message.event as 'start' | 'delta' | 'done' | 'error';
        yield { type, ...(message[type] as object) } as ChatEvent;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

export function floorClient(kind: FloorKind, target: string): BenchClient {
  if (kind === 'ws') return new WsFloorClient(target);
  if (kind === 'grpc') return new GrpcFloorClient(target);
  return new HttpFloorClient(kind, target);
}

export type SubjectName = Protocol | `floor:${FloorKind}`;
