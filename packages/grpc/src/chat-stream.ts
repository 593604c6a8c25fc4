/**
 * The open Chat (bidi) calls: each has an id (shown to the others as connection_id) and the
 * sessions it used, so a `typing` event reaches the other streams of the same session. A stream
 * is written with back-pressure and ended once, whoever ends it first (half-close, cancel,
 * shutdown).
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { writeWithBackpressure } from '@gtp/core';
import type { ChatRequest__Output } from '../generated/genai/chat/v1/ChatRequest.ts';
import type { ChatResponse } from '../generated/genai/chat/v1/ChatResponse.ts';

export type ChatCall = grpc.ServerDuplexStream<ChatRequest__Output, ChatResponse>;

export class ChatStream {
  readonly id = randomUUID();
  readonly sessions = new Set<string>();
  readonly call: ChatCall;
  #ended = false;

  constructor(call: ChatCall) {
    this.call = call;
  }

  async send(message: ChatResponse): Promise<void> {
    if (this.#ended || this.call.cancelled || this.call.writableEnded) return;
    await writeWithBackpressure(this.call, message);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.call.cancelled && !this.call.writableEnded) this.call.end();
  }
}

/** Every open Chat stream of the server, until its call closes. */
export class ChatStreams {
  readonly #streams = new Set<ChatStream>();

  open(call: ChatCall): ChatStream {
    const stream = new ChatStream(call);
    this.#streams.add(stream);
    call.once('close', () => this.#streams.delete(stream));
    return stream;
  }

  /** Tell the other streams of the session that this one's user is typing (or stopped). */
  typing(from: ChatStream, sessionId: string, active: boolean): void {
    from.sessions.add(sessionId);
    const typing = { sessionId, active, connectionId: from.id };
    for (const other of this.#streams) {
      if (other !== from && other.sessions.has(sessionId)) void other.send({ typing });
    }
  }

  endAll(): void {
    for (const stream of this.#streams) stream.end();
  }
}
