/**
 * Raw HTTP for the fault suite: JSON calls with undici, and streaming requests with node:http on
 * a socket of their own, so that a test can make a client vanish by destroying that socket.
 */
import http from 'node:http';
import type { Message } from '@gtp/core';
import { Agent, request } from 'undici';
import { type EventQueue, type FaultError, type FaultEvent, WAIT_MS, WireError } from './events.ts';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** JSON over HTTP/1.1 with one keep-alive pool per server under test. */
export class HttpJson {
  readonly base: string;
  readonly #agent = new Agent({ connections: 16 });
  readonly #headers: Record<string, string>;

  constructor(base: string, token?: string) {
    this.base = base;
    this.#headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  /** Any request; the body is JSON-encoded unless it is already a string. */
  async call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<JsonResponse> {
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await request(`${this.base}${path}`, {
      method,
      dispatcher: this.#agent,
      headers: {
        ...this.#headers,
        ...(raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(raw !== undefined ? { body: raw } : {}),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (an event stream, a page): keep the text
    }
    return { status: response.statusCode, headers: response.headers, body: parsed };
  }

  /** A call that must succeed; anything else is a WireError with the contract's code. */
  async ok<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await this.call(method, path, body);
    if (response.status >= 300) throw httpError(response);
    return response.body as T;
  }

  async createSession(): Promise<string> {
    return (await this.ok<{ id: string }>('POST', '/sessions')).id;
  }

  async history(sessionId: string): Promise<Message[]> {
    return (await this.ok<{ messages: Message[] }>('GET', `/sessions/${sessionId}/messages`)).messages;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** The `{error:{code,message}}` of a response as a WireError. */
export function httpError(response: JsonResponse): WireError {
  const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new WireError(error?.code ?? `http_${response.status}`, error?.message ?? String(response.body), {
    httpStatus: response.status,
  });
}

/** A refused request as an error event. */
export function errorEvent(response: JsonResponse): FaultError {
  const error = httpError(response);
  const retryAfter = response.headers['retry-after'];
  return {
    type: 'error',
    error: { code: error.code as FaultError['error']['code'], message: error.message },
    httpStatus: response.status,
    ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
  };
}

/** One streaming request on a socket of its own. */
export interface RawExchange {
  /** The response's status and headers, once they arrived. */
  response: Promise<http.IncomingMessage>;
  /** Vanish: destroy the socket without a word (no FIN handshake of an orderly close). */
  destroy(): void;
  /** Stop reading: the kernel buffers fill, then the server's writes back up. */
  pause(): void;
  resume(): void;
}

export function rawRequest(
  url: string,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
): RawExchange {
  const req = http.request(url, {
    method: options.method,
    agent: false, // a connection of its own: destroying it affects nobody else
    headers: {
      ...(options.body !== undefined
        ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) }
        : {}),
      ...options.headers,
    },
  });
  let socketPaused = false;
  req.on('socket', (socket) => {
    if (socketPaused) socket.pause();
  });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.on('error', reject); // a destroyed socket errors again later: keep listening
  });
  response.catch(() => undefined);
  const whenAnswered = (act: (res: http.IncomingMessage) => void) => response.then(act, () => undefined);
  req.end(options.body);
  return {
    response,
    destroy: () => {
      req.socket?.resetAndDestroy?.(); // RST where the platform allows, like a vanished peer
      req.destroy();
    },
    pause: () => {
      socketPaused = true;
      req.socket?.pause();
      void whenAnswered((res) => res.pause());
    },
    resume: () => {
      socketPaused = false;
      req.socket?.resume();
      void whenAnswered((res) => res.resume());
    },
  };
}

/** Read a response's body as text, in chunks, into `onText`; resolves when it ends or breaks. */
export function readText(res: http.IncomingMessage, onText: (text: string) => void): Promise<void> {
  res.setEncoding('utf8');
  return new Promise((resolve) => {
    res.on('data', onText);
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
}

/** Read a whole (JSON) body. */
export async function readJson(res: http.IncomingMessage): Promise<unknown> {
  let text = '';
  await readText(res, (chunk) => {
    text += chunk;
  });
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** NDJSON lines → events. Partial lines wait for the rest. */
export function pumpNdjson(res: http.IncomingMessage, queue: EventQueue): void {
  let buffer = '';
  void readText(res, (chunk) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) queue.push(JSON.parse(line) as FaultEvent);
      newline = buffer.indexOf('\n');
    }
  }).then(() => queue.end());
}

/** SSE frames → the ChatEvents among them (`reset`, comments and `retry:` are skipped). */
export function pumpSse(res: http.IncomingMessage, queue: EventQueue): void {
  let buffer = '';
  void readText(res, (chunk) => {
    buffer += chunk.replace(/\r\n?/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let data = '';
      let id = '';
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trimStart();
      }
      // A ChatEvent `error` is `event: chat-error` (EventSource keeps `error` for the connection).
      // A delta's data is its text alone, a JSON string (`data: "Hel"`); its id is its seq.
      if (data && ['start', 'delta', 'done', 'chat-error'].includes(type)) {
        const parsed = JSON.parse(data) as unknown;
        queue.push(
          (type === 'delta' ? { type: 'delta', text: parsed, seq: Number(id) } : parsed) as FaultEvent,
        );
      }
      end = buffer.indexOf('\n\n');
    }
  }).then(() => queue.end());
}
