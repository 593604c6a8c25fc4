/**
 * `--trace` for undici: its diagnostics channels publish every request's raw header block as
 * written to the socket, the response's status and headers, and each body chunk as it arrives.
 * The chat clients (REST, NDJSON, SSE, and WebSocket's HTTP routes) subscribe for their origin.
 * https://undici.nodejs.org/#/docs/api/DiagnosticsChannel
 */
import diagnostics from 'node:diagnostics_channel';
import { printable, type WireTrace } from './wire-trace.ts';

/** The parts of undici's internal Request the channels hand over. */
interface UndiciRequest {
  origin: string | URL;
  method: string;
  path: string;
  /** A string body is a Buffer by now; null without a body. */
  body?: unknown;
}

/** Methods after which undici writes `content-length: 0` when there is no body (client-h1.js). */
const PAYLOAD_METHODS = new Set(['PUT', 'POST', 'PATCH', 'QUERY']);

/**
 * The end of the header block undici writes after the headers it publishes: the body's
 * `content-length` line (or `content-length: 0` for a method that expects a body) and the blank
 * line. The channel hands over the block without them, so the trace adds them back.
 */
function headerBlockEnd(request: UndiciRequest): string {
  const { body } = request;
  if (body instanceof Uint8Array) return `content-length: ${body.byteLength}\r\n\r\n`;
  if (body == null) return PAYLOAD_METHODS.has(request.method) ? 'content-length: 0\r\n\r\n' : '\r\n';
  // A stream or iterable body goes out chunked; the blank line follows.
  return 'transfer-encoding: chunked\r\n\r\n';
}
interface SendHeadersMessage {
  request: UndiciRequest;
  headers: string;
}
interface ChunkMessage {
  request: UndiciRequest;
  chunk: Uint8Array | string;
}
interface HeadersMessage {
  request: UndiciRequest;
  response: { statusCode: number; statusText: string; headers: Buffer[] };
}
interface TrailersMessage {
  request: UndiciRequest;
  trailers: Buffer[];
}
interface ErrorMessage {
  request: UndiciRequest;
  error: Error;
}

/** The Transfer-Encoding header's value among `name: value` lines, if any. */
function chunkedHeader(lines: readonly string[]): string | undefined {
  const line = lines.find((l) => /^transfer-encoding:/i.test(l));
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** How a response body is shown: by lines (NDJSON), by field blocks (SSE), or as it is. */
type BodyKind = 'ndjson' | 'sse' | 'raw';

/**
 * Trace every undici request to `origin` (e.g. `http://127.0.0.1:8002`). Returns the
 * unsubscribe. The channels are process-wide: two traced clients of the same origin in one
 * process would both see each other's requests.
 */
export function traceUndici(trace: WireTrace, origin: string): () => void {
  const wanted = new URL(origin).origin;
  const mine = (request: UndiciRequest) => new URL(String(request.origin)).origin === wanted;
  const bodies = new WeakMap<UndiciRequest, { kind: BodyKind; partial: string }>();

  const onSendHeaders = (message: unknown) => {
    const { request, headers: published } = message as SendHeadersMessage;
    if (!mine(request)) return;
    const headers = published + headerBlockEnd(request);
    const lines = headers.split('\r\n').filter(Boolean);
    trace.sent(Buffer.byteLength(headers), lines[0] ?? `${request.method} ${request.path}`, lines.slice(1));
  };
  const onBodySent = (message: unknown) => {
    const { request, chunk } = message as ChunkMessage;
    if (!mine(request)) return;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    trace.sent(Buffer.byteLength(text), 'request body', [printable(text)]);
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as HeadersMessage;
    if (!mine(request)) return;
    const lines: string[] = [];
    let contentType = '';
    for (let i = 0; i + 1 < response.headers.length; i += 2) {
      const name = response.headers[i]!.toString('latin1');
      const value = response.headers[i + 1]!.toString('latin1');
      if (name.toLowerCase() === 'content-type') contentType = value;
      lines.push(`${name}: ${value}`);
    }
    const statusLine = `HTTP/1.1 ${response.statusCode} ${response.statusText}`;
    // The header block as it was on the wire: status line, `name: value` lines, a blank line.
    const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 2, Buffer.byteLength(statusLine) + 4);
    bodies.set(request, {
      kind: contentType.startsWith('application/x-ndjson')
        ? 'ndjson'
        : contentType.startsWith('text/event-stream')
          ? 'sse'
          : 'raw',
      partial: '',
    });
    trace.received(bytes, statusLine, lines);
    if (/^chunked$/i.test(String(chunkedHeader(lines))))
      trace.note('chunked body: counted below without its chunk-size lines (hex size + CRLF, CRLF)');
  };
  const onBodyReceived = (message: unknown) => {
    const { request, chunk } = message as ChunkMessage;
    if (!mine(request)) return;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const body = bodies.get(request) ?? { kind: 'raw' as const, partial: '' };
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (body.kind === 'raw') {
      trace.received(bytes, 'body chunk', [printable(text)]);
      return;
    }
    // A chunk boundary is where the network read ended; the lines or blocks inside it are whole
    // only once their terminator arrived, so a partial one waits for the next chunk.
    const separator = body.kind === 'ndjson' ? '\n' : /\r?\n\r?\n/;
    const parts = (body.partial + text).split(separator);
    body.partial = parts.pop() ?? '';
    const label = body.kind === 'ndjson' ? 'line' : 'event block';
    const detail = parts.filter(Boolean).map((p) => `${label}: ${printable(p)}`);
    if (body.partial) detail.push(`(partial, waits for the rest: ${printable(body.partial, 80)})`);
    trace.received(bytes, 'chunk', detail);
  };
  const onTrailers = (message: unknown) => {
    const { request, trailers } = message as TrailersMessage;
    if (!mine(request)) return;
    const lines: string[] = [];
    for (let i = 0; i + 1 < trailers.length; i += 2)
      lines.push(`${trailers[i]!.toString('latin1')}: ${trailers[i + 1]!.toString('latin1')}`);
    trace.note('response complete', lines);
  };
  const onError = (message: unknown) => {
    const { request, error } = message as ErrorMessage;
    if (!mine(request)) return;
    trace.note(`request failed: ${error.message}`);
  };

  const subscriptions: [string, (message: unknown) => void][] = [
    ['undici:client:sendHeaders', onSendHeaders],
    ['undici:request:bodyChunkSent', onBodySent],
    ['undici:request:headers', onHeaders],
    ['undici:request:bodyChunkReceived', onBodyReceived],
    ['undici:request:trailers', onTrailers],
    ['undici:request:error', onError],
  ];
  for (const [name, listener] of subscriptions) diagnostics.subscribe(name, listener);
  return () => {
    for (const [name, listener] of subscriptions) diagnostics.unsubscribe(name, listener);
  };
}
