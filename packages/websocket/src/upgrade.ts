/**
 * Which WebSocket handshakes this server accepts, and how it refuses the others.
 *
 * An upgrade bypasses Fastify's router and its hooks, so the checks run on the raw request, in
 * the server's `'upgrade'` listener, before `handleUpgrade`. First the one access check every
 * transport shares (`createAccessCheck` in @gtp/core: rate limit, Origin, token → the caller's
 * principal); then what only a WebSocket has: the path, a server that is shutting down, and the
 * subprotocol. A refusal is an ordinary HTTP response, written by hand on the socket.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Access, type AccessCheck, ChatError, WS_BEARER_PREFIX } from '@gtp/core';
import { WS_PATH, WS_SUBPROTOCOL } from './protocol.ts';

export interface UpgradeCheckOptions {
  /** The server's access check (core). */
  access: AccessCheck;
  /** True once the server has begun to shut down: no new connections. */
  closing: () => boolean;
}

/** The caller's Access when this upgrade may go ahead; otherwise throws the ChatError to refuse it with. */
export async function checkUpgrade(request: IncomingMessage, options: UpgradeCheckOptions): Promise<Access> {
  // Counted and checked before anything else, whatever the path: refused attempts count too, so
  // guessing tokens is throttled. Browsers send Origin on every handshake and apply no CORS to
  // WebSockets, so without the Origin check any web page could open a socket to us from a
  // visitor's browser (cross-site WebSocket hijacking). The token comes from `Authorization:
  // Bearer` (Node), `?access_token=`, or the subprotocol `bearer.<token>`, the one place a
  // browser's WebSocket can carry a secret.
  const caller = await options.access.check({
    transport: 'websocket',
    headers: request.headers,
    url: request.url,
    peer: request.socket.remoteAddress,
  });
  const { pathname } = new URL(request.url ?? '/', 'http://localhost');
  if (pathname !== WS_PATH) throw new ChatError('not_found', `no WebSocket at ${pathname}; use ${WS_PATH}`);
  if (options.closing()) throw new ChatError('shutting_down', 'the server is shutting down');
  // A client that offers subprotocols must get one of them back, or it fails the handshake
  // itself (browsers do): say so plainly instead.
  const offered = request.headers['sec-websocket-protocol'];
  if (offered !== undefined && !offered.split(',').some((p) => p.trim() === WS_SUBPROTOCOL)) {
    throw new ChatError(
      'invalid_request',
      `offer the subprotocol "${WS_SUBPROTOCOL}" (next to any "${WS_BEARER_PREFIX}<token>")`,
    );
  }
  return caller;
}

/**
 * The subprotocol to answer with (`ws`'s `handleProtocols`): ours when it is offered. Never a
 * `bearer.<token>` entry: the answer is a response header, and a token does not belong in one.
 */
export function selectSubprotocol(offered: Set<string>): string | false {
  return offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false;
}

/**
 * Answer a refused upgrade on the raw socket: there is no Fastify reply object here, so this is
 * the HTTP/1.1 response written by hand (a 401 also names the scheme it wants, a 429 says when to
 * come back).
 */
export function rejectUpgrade(socket: Duplex, error: ChatError): void {
  if (socket.destroyed) return; // the client gave up while we checked
  const body = JSON.stringify({ error: error.toJSON() });
  const headers = [
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus]}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(error.code === 'unauthorized' ? ['WWW-Authenticate: Bearer realm="genai-transports"'] : []),
    ...(error.retryAfterSeconds !== undefined ? [`Retry-After: ${error.retryAfterSeconds}`] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
