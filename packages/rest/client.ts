/**
 * REST client: one request, one complete answer.
 *
 * What it teaches: a chat call as one plain HTTP request with undici. `send()` POSTs the message
 * and waits for the response; the reply arrives whole, so the shell's spinner runs until it does
 * and then the text prints all at once. REST has no way to show the first words early, and this
 * client does not pretend otherwise. Ctrl+C aborts the request, which closes the connection; the
 * server notices and stops the model.
 *
 * Everything else (readline, commands, the spinner, client-side stats) is the shared shell from
 * @gtp/core/cli; the session routes are the shared HttpApi.
 *
 * Run it:   pnpm serve rest          (in one terminal)
 *           pnpm client rest              (in another; --url http://host:port to point elsewhere, --trace to see the wire)
 */
import { type ChatEvent, type ChatReply, isMain } from '@gtp/core';
import {
  type AdapterOptions,
  connectionError,
  errorFromBody,
  HttpClientAdapter,
  httpPool,
  runClient,
  type SendOptions,
} from '@gtp/core/cli';
import { type Agent, request } from 'undici';

/**
 * A REST server sends its headers only when the whole reply is written, so undici's headers
 * timeout is really a whole-reply timeout. Say so explicitly instead of relying on the default.
 */
export const REPLY_TIMEOUT_MS = 5 * 60_000;

export class RestAdapter extends HttpClientAdapter {
  readonly protocol = 'rest' as const;
  readonly docsUrl: string;
  readonly #agent: Agent;

  /**
   * `token`: the server's AUTH_TOKEN (from `--token` or AUTH_TOKEN), sent on every request as
   * `Authorization: Bearer <token>`; without it a server that has one answers 401 unauthorized.
   */
  constructor(target: string, options: AdapterOptions = {}) {
    // One keep-alive connection pool for every call (httpPool): a turn costs one round trip, not a
    // new TCP and TLS handshake; https:// speaks HTTP/2 when ALPN offers it. The whole reply must
    // arrive within REPLY_TIMEOUT_MS (its headers come only with it).
    const { agent, api } = httpPool(target, {
      ...options,
      timeouts: { headersTimeout: REPLY_TIMEOUT_MS, bodyTimeout: REPLY_TIMEOUT_MS },
    });
    // The session routes (health, stats, sessions, history) come from HttpClientAdapter over this pool.
    // With --trace, undici's diagnostics channels show each request and response (HttpClientAdapter).
    super(api, options.trace);
    this.#agent = agent;
    this.docsUrl = `${this.target}/docs`;
  }

  /**
   * The chat call. Nothing is yielded until the response has arrived; then the whole turn is
   * replayed as `start`, ONE `delta` with the complete text, and `done`.
   */
  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent> {
    const { signal } = options;
    let status: number;
    let body: string;
    try {
      const response = await request(`${this.target}/sessions/${encodeURIComponent(sessionId)}/messages`, {
        method: 'POST',
        headers: { ...this.api.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        dispatcher: this.#agent,
        signal,
      });
      status = response.statusCode;
      body = await response.body.text();
    } catch (error) {
      // Ctrl+C: the abort closed the connection and the server stopped the model; the shell says "cancelled".
      if (signal?.aborted) throw error;
      // Refused: the server is not there. Reset or closed mid-request: it was reached and then
      // went away (the message may be stored; /history shows it). connectionError tells them apart.
      throw connectionError(this.target, error);
    }
    this.api.countBytes(Buffer.byteLength(body));
    // 400 invalid_request, 404 session_not_found, 409 session_busy, 413 payload_too_large, 502 model_error…
    if (status !== 200) throw errorFromBody(status, body);

    const reply = JSON.parse(body) as ChatReply;
    yield { type: 'start', sessionId, messageId: reply.messageId };
    yield { type: 'delta', text: reply.text };
    yield {
      type: 'done',
      messageId: reply.messageId,
      finishReason: reply.finishReason,
      usage: reply.usage,
      timings: reply.timings,
    };
  }

  async close(): Promise<void> {
    this.untrace();
    await this.#agent.close();
  }
}

if (isMain(import.meta.url)) runClient('rest', (target, options) => new RestAdapter(target, options));
