import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Credentials, one rule for all five servers (when AUTH_TOKEN is set):
 * - HTTP: `Authorization: Bearer <token>`.
 * - EventSource and page navigations cannot set headers: `?access_token=<token>` in the URL.
 *   URLs end up in logs and browser history; the servers redact it from their own logs, but
 *   proxies may not. Prefer the header wherever the client can set one.
 * - Browser WebSocket cannot set headers either: offer the subprotocol `bearer.<token>` next to
 *   the real one (`new WebSocket(url, ['genai-chat.v1', 'bearer.' + token])`).
 * - gRPC: `authorization: Bearer <token>` metadata.
 */
export const ACCESS_TOKEN_QUERY = 'access_token';
export const WS_BEARER_PREFIX = 'bearer.';

/** Constant-time comparison: hashing first makes the lengths equal, so nothing leaks through timing. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer …` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** The token from a request: the header first, then `?access_token=`, then a `bearer.` subprotocol. */
export function requestToken(
  headers: Record<string, string | string[] | undefined>,
  url: string | undefined,
): string | undefined {
  const fromHeader = bearerToken(headers.authorization);
  if (fromHeader) return fromHeader;
  const query = url?.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)) : undefined;
  const fromQuery = query?.get(ACCESS_TOKEN_QUERY);
  if (fromQuery) return fromQuery;
  const protocols = headers['sec-websocket-protocol'];
  const offered = (Array.isArray(protocols) ? protocols.join(',') : (protocols ?? ''))
    .split(',')
    .map((p) => p.trim());
  return offered.find((p) => p.startsWith(WS_BEARER_PREFIX))?.slice(WS_BEARER_PREFIX.length);
}

/** A URL with `access_token` removed, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]');
}

/**
 * Whether a browser origin may call us. No Origin header (curl, Node clients) is not a browser
 * request and passes; the server's own origin (its demo page) passes; others must be listed
 * exactly (there is deliberately no wildcard).
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (!origin) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
