import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Credentials, one rule for all five servers (when AUTH_TOKEN is set):
 * - HTTP: `Authorization: Bearer <token>`.
 * - EventSource and page navigations cannot set headers: `?access_token=<token>` in the URL.
 *   URLs end up in logs and browser history; the servers redact it from their own logs, but
 *   proxies may not. Prefer the header wherever the client can set one.
 * - Browser WebSocket cannot set headers either: offer the subprotocol `bearer.<base64url(token)>`
 *   next to the real one (`new WebSocket(url, ['genai-chat.v1', 'bearer.' + base64url(token)])`).
 *   A subprotocol must be RFC 7230 token characters; base64url (no padding) always is, while a
 *   token with `/`, `+`, `=` or spaces makes browsers and `ws` throw. A token that is already
 *   made of token characters is also accepted as it is.
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
  return requestTokens(headers, url)[0];
}

/**
 * What the request may mean as its token, in order: the header's, the query's, or the `bearer.`
 * subprotocol's read as base64url and then as it is. A credential matches when one of them does.
 */
export function requestTokens(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  url: string | undefined,
): string[] {
  const fromHeader = bearerToken(headers.authorization);
  if (fromHeader) return [fromHeader];
  const query = url?.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)) : undefined;
  const fromQuery = query?.get(ACCESS_TOKEN_QUERY);
  if (fromQuery) return [fromQuery];
  const protocols = headers['sec-websocket-protocol'];
  const offered = (Array.isArray(protocols) ? protocols.join(',') : (protocols ?? ''))
    .split(',')
    .map((p) => p.trim());
  const raw = offered.find((p) => p.startsWith(WS_BEARER_PREFIX))?.slice(WS_BEARER_PREFIX.length);
  if (!raw) return [];
  const decoded = /^[A-Za-z0-9_-]+$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : undefined;
  return decoded && decoded !== raw && !decoded.includes('\uFFFD') ? [decoded, raw] : [raw];
}

/** The `bearer.` subprotocol that carries `token` (base64url, always RFC 7230 token characters). */
export function bearerSubprotocol(token: string): string {
  return `${WS_BEARER_PREFIX}${Buffer.from(token, 'utf8').toString('base64url')}`;
}

/**
 * A URL with the value of `access_token` replaced, for logs. The name is compared decoded, as the
 * query parser reads it: `?access%5Ftoken=` and `?%61ccess_token=` authenticate too.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const pairs = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return decodedName(name) === ACCESS_TOKEN_QUERY ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, at)}?${pairs.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
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
