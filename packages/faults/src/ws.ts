/**
 * A plain `ws` client of the WebSocket server's JSON frames, for the fault suite: it can send
 * anything (bad JSON, binary, unknown types), wait for the frame it expects, stop reading, or
 * vanish (terminate: the socket is destroyed, no close frame).
 */
import { bearerSubprotocol } from '@gtp/core';
import WebSocket from 'ws';
import { WAIT_MS } from './events.ts';

/** A server frame: a ChatEvent, or joined/presence/pong/typing/message/error. */
export interface Frame {
  type: string;
  [field: string]: unknown;
}

export interface Closed {
  code: number;
  reason: string;
}

export class WsClient {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  /** Frames received and not yet matched by `next`. */
  readonly frames: Frame[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #listeners = new Set<(frame: Frame) => void>();

  /** `protocols`: offered subprotocols (the token travels as `bearer.<token>`). */
  constructor(url: string, options: { token?: string; headers?: Record<string, string> } = {}) {
    // base64url: a subprotocol must be RFC 7230 token characters, whatever the token holds.
    const protocols = options.token ? ['genai-chat.v1', bearerSubprotocol(options.token)] : undefined;
    this.ws = new WebSocket(url, protocols, { headers: options.headers ?? {} });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      // A refused upgrade is an ordinary HTTP answer: keep its status and its `{error}` body.
      this.ws.once('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.once('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const refusal = new Error(`upgrade refused: ${response.statusCode}`);
          reject(Object.assign(refusal, { status: response.statusCode, headers: response.headers, body }));
          this.ws.terminate();
        });
      });
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      for (const listener of this.#listeners) listener(frame);
      this.#wake();
    });
    this.ws.once('close', () => this.#wake());
  }

  /** Also hand every frame to `listener` as it arrives. */
  onFrame(listener: (frame: Frame) => void): void {
    this.#listeners.add(listener);
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The next frame of this type (and matching `predicate`); earlier frames of other types stay queued. */
  async next(
    type: string,
    predicate: (frame: Frame) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((f) => f.type === type && predicate(f));
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed before a ${type} frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Join a session (none: create one); resolves to its id. */
  async join(sessionId?: string): Promise<string> {
    await this.opened;
    this.send(sessionId ? { type: 'join', sessionId } : { type: 'join' });
    const joined = await this.next('joined');
    return (joined.session as { id: string }).id;
  }

  /** A round trip on this connection: proves it is still open and served. */
  async ping(): Promise<void> {
    const ts = Math.random();
    this.send({ type: 'ping', ts });
    await this.next('pong', (f) => f.ts === ts);
  }

  /** Vanish: destroy the socket, no close frame. */
  vanish(): void {
    this.ws.terminate();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }
}
