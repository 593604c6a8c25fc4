/**
 * The one access check of every transport (tRPC's shared `createContext` is the model): the
 * Fastify hooks of the four HTTP servers, the WebSocket upgrade and the gRPC interceptors all
 * call `access.check()` with what they know of the request, and map the ChatError it throws to
 * their own idiom (an HTTP status, a refused upgrade, a gRPC status). A rule is written here
 * once, so it cannot drift between transports.
 *
 * The order is deliberate:
 * 1. the rate limit, counted first: refused attempts count too, so guessing tokens is throttled;
 * 2. the Origin (a browser page of another site must not use a visitor's browser against us);
 * 3. the credentials, which name the principal.
 * Probes (GET /health, grpc.health.v1) pass without a token and are not rate-limited: load
 * balancers and orchestrators probe without credentials.
 */
import { originAllowed, requestToken, tokenMatches, WS_BEARER_PREFIX } from './auth.ts';
import type { Config } from './config.ts';
import { ChatError } from './errors.ts';
import { AddressRateLimit } from './rate-limit.ts';

/** Which transport is asking: the rule is the same, only the words of a refusal differ. */
export type AccessTransport = 'http' | 'websocket' | 'grpc';

/** What a transport knows about a request before any handler runs. */
export interface AccessRequest {
  transport: AccessTransport;
  /** HTTP headers, or gRPC metadata as a plain object (keys lower case). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request target with its query (`?access_token=`); gRPC: the method path. */
  url?: string | undefined;
  /** The TCP peer's address (`socket.remoteAddress`; gRPC: `peerAddress(call.getPeer())`). */
  peer?: string | undefined;
  /** A health probe: no token, no rate limit. */
  probe?: boolean;
}

/** Who is calling, once the check has passed. */
export interface Access {
  /** The identity sessions belong to. `anonymous` when no authentication is configured. */
  principal: string;
  /** The address the rate limit counts (the TCP peer). */
  clientAddress: string;
}

export interface AccessCheck {
  /** The caller's Access, or a ChatError (rate_limited, forbidden, unauthorized) thrown. */
  check(request: AccessRequest): Promise<Access>;
}

/** The principal of every caller when no AUTH_TOKEN is set (the local demo). */
export const ANONYMOUS_PRINCIPAL = 'anonymous';
/** The one principal that the shared AUTH_TOKEN stands for. */
export const TOKEN_PRINCIPAL = 'token';

/** What one attempt is called in a refusal, per transport. */
const ATTEMPTS: Readonly<Record<AccessTransport, string>> = {
  http: 'requests',
  websocket: 'connections',
  grpc: 'calls',
};

/** How to present the token, per transport. */
const TOKEN_HINT: Readonly<Record<AccessTransport, string>> = {
  // The header is what a client should send; ?access_token= (core/src/auth.ts) is only for what
  // cannot set one (EventSource, a page's URL), so the hint does not advertise it.
  http: 'send Authorization: Bearer <AUTH_TOKEN>',
  websocket: `send Authorization: Bearer <AUTH_TOKEN>, or offer the subprotocols "genai-chat.v1" and "${WS_BEARER_PREFIX}<AUTH_TOKEN>"`,
  grpc: 'send the metadata authorization: Bearer <AUTH_TOKEN>',
};

export type AccessConfig = Pick<
  Config,
  'authToken' | 'allowedOrigins' | 'rateLimitMax' | 'rateLimitWindowMs'
>;

/**
 * The access check for one server. Each transport's attempts are counted in a budget of their
 * own (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS per client address): an HTTP request, a
 * WebSocket upgrade and a gRPC call are each one attempt.
 */
export function createAccessCheck(config: AccessConfig): AccessCheck {
  const limits = new Map<AccessTransport, AddressRateLimit>();
  const limitFor = (transport: AccessTransport): AddressRateLimit | undefined => {
    if (config.rateLimitMax <= 0) return undefined;
    let limit = limits.get(transport);
    if (!limit) {
      limit = new AddressRateLimit(config.rateLimitMax, config.rateLimitWindowMs);
      limits.set(transport, limit);
    }
    return limit;
  };
  const windowSeconds = Math.round(config.rateLimitWindowMs / 1000);

  return {
    async check(request) {
      const clientAddress = request.peer ?? 'unknown';
      if (!request.probe) {
        const retryAfterSeconds = limitFor(request.transport)?.take(clientAddress) ?? 0;
        if (retryAfterSeconds > 0) {
          throw new ChatError(
            'rate_limited',
            `more than ${config.rateLimitMax} ${ATTEMPTS[request.transport]} in ${windowSeconds} s ` +
              `from this address; retry after ${retryAfterSeconds} s (RATE_LIMIT_MAX)`,
            { retryAfterSeconds },
          );
        }
      }
      const origin = first(request.headers.origin);
      if (!originAllowed(origin, first(request.headers.host), config.allowedOrigins)) {
        throw new ChatError('forbidden', `origin ${origin} is not allowed (ALLOWED_ORIGINS)`);
      }
      if (!config.authToken) return { principal: ANONYMOUS_PRINCIPAL, clientAddress };
      if (request.probe) return { principal: ANONYMOUS_PRINCIPAL, clientAddress };
      if (!tokenMatches(requestToken(request.headers, request.url), config.authToken)) {
        throw new ChatError('unauthorized', `missing or wrong token: ${TOKEN_HINT[request.transport]}`);
      }
      return { principal: TOKEN_PRINCIPAL, clientAddress };
    },
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
