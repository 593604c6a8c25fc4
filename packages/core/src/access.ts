/**
 * The one access check of every transport (tRPC's shared `createContext` is the model): the
 * Fastify hooks of the four HTTP servers, the WebSocket upgrade and the gRPC interceptors all
 * call `access.check()` with what they know of the request, and map the ChatError it throws to
 * their own idiom (an HTTP status, a refused upgrade, a gRPC status). A rule is written here
 * once, so it cannot drift between transports.
 *
 * The order is deliberate:
 * 1. the client address: the TCP peer, or X-Forwarded-For when the peer is a TRUST_PROXY proxy;
 * 2. the rate limit of that address, counted first: refused attempts count too, so guessing
 *    tokens is throttled (in memory, or shared by every instance through Redis with REDIS_URL);
 * 3. the Host (DNS rebinding: ALLOWED_HOSTS, loopback names by default on a loopback bind);
 * 4. the Origin (a browser page of another site must not use a visitor's browser against us);
 * 5. the credentials, which name the principal: AUTH_TOKEN is the one principal `token`; a JWT
 *    verified with JWT_SECRET or JWT_JWKS_URL is the principal of its `sub`; without either,
 *    everyone is the one principal `anonymous`.
 * Probes (GET /health, grpc.health.v1) pass without a token, Host check or rate limit: load
 * balancers and orchestrators probe without credentials, by address.
 */
import { originAllowed, requestTokens, tokenMatches, WS_BEARER_PREFIX } from './auth.ts';
import { clientAddress, compileTrust } from './client-address.ts';
import type { Config } from './config.ts';
import { ChatError } from './errors.ts';
import { allowedHostsFor, hostAllowed } from './hosts.ts';
import { createJwtVerifier, looksLikeJwt } from './jwt.ts';
import { AddressRateLimit } from './rate-limit.ts';
import type { RedisClient } from './redis-client.ts';

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
  /** The address the rate limit counts: the TCP peer, or X-Forwarded-For from a TRUST_PROXY proxy. */
  clientAddress: string;
}

export interface AccessCheck {
  /** The caller's Access, or a ChatError (rate_limited, forbidden, unauthorized) thrown. */
  check(request: AccessRequest): Promise<Access>;
  /** Release what the check holds (the Redis connection of shared limits). Idempotent. */
  close(): Promise<void>;
}

/** The principal of every caller when no authentication is configured (the local demo). */
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
  http: 'send Authorization: Bearer <token>',
  websocket: `send Authorization: Bearer <token>, or offer the subprotocols "genai-chat.v1" and "${WS_BEARER_PREFIX}<base64url of the token>"`,
  grpc: 'send the metadata authorization: Bearer <token>',
};

export type AccessConfig = Pick<
  Config,
  'authToken' | 'allowedOrigins' | 'rateLimitMax' | 'rateLimitWindowMs'
> &
  Partial<
    Pick<
      Config,
      | 'host'
      | 'allowedHosts'
      | 'jwtSecret'
      | 'jwtJwksUrl'
      | 'jwtIssuer'
      | 'jwtAudience'
      | 'trustProxy'
      | 'redisUrl'
    >
  >;

/** What describeAccess reads: the ways to authenticate, the host allow-list, trusted proxies. */
export type DescribedAccess = Pick<AccessConfig, 'authToken'> &
  Partial<Pick<Config, 'host' | 'allowedHosts' | 'jwtSecret' | 'jwtJwksUrl' | 'trustProxy'>>;

/** What the start-up line says about who may call (and who sessions belong to). */
export function describeAccess(config: DescribedAccess): string {
  const ways = [
    ...(config.authToken ? ['AUTH_TOKEN (one principal, "token")'] : []),
    ...(config.jwtSecret ? ['JWTs signed with JWT_SECRET (principal = sub)'] : []),
    ...(config.jwtJwksUrl && !config.jwtSecret
      ? [`JWTs signed by ${config.jwtJwksUrl} (principal = sub)`]
      : []),
  ];
  const who = ways.length
    ? `auth: ${ways.join(' or ')}`
    : 'auth: none — every caller is the one principal "anonymous" and shares every session (set AUTH_TOKEN or JWT_SECRET/JWT_JWKS_URL)';
  const hosts = allowedHostsFor(config.host ?? '127.0.0.1', config.allowedHosts ?? []);
  const hostLine = hosts
    ? `hosts: ${hosts.join(', ')}`
    : 'hosts: any (set ALLOWED_HOSTS: DNS rebinding is not checked)';
  return `${who}; ${hostLine}${config.trustProxy ? `; trusted proxies: ${config.trustProxy}` : ''}`;
}

/** How long a shared (Redis) rate-limit count may take before this instance counts alone. */
export const SHARED_LIMIT_DEADLINE_MS = 250;

/** One transport's attempt budget: in this process, or in Redis (shared by every instance). */
interface AttemptLimit {
  /** Seconds to wait when `address` is over its budget, else 0. */
  take(address: string): Promise<number>;
}

function memoryLimit(max: number, windowMs: number): AttemptLimit {
  const limit = new AddressRateLimit(max, windowMs);
  return { take: async (address) => limit.take(address) };
}

/**
 * RATE_LIMIT_MAX per window in Redis (rate-limiter-flexible over node-redis): every instance
 * counts into the same key. While Redis is away each instance counts in memory instead (the
 * insurance limiter), so an outage neither blocks everyone nor lifts the limit.
 */
async function redisLimit(
  client: RedisClient,
  transport: AccessTransport,
  max: number,
  windowMs: number,
): Promise<AttemptLimit> {
  // Loaded only with REDIS_URL, like the Redis store (@gtp/core/redis).
  const { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } = await import('rate-limiter-flexible');
  const duration = Math.max(1, Math.ceil(windowMs / 1000));
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: true,
    rejectIfRedisNotReady: true,
    keyPrefix: `gtp:ratelimit:${transport}`,
    points: max,
    duration,
    insuranceLimiter: new RateLimiterMemory({ points: max, duration }),
  });
  // A frozen Redis (TCP open, no answers) would hold every request in this check: node-redis
  // stops timing a command once it is written. Past our own deadline the attempt is counted in
  // memory instead, like the insurance limiter does when Redis refuses.
  const { withDeadline, RedisDeadlineError } = await import('./redis-client.ts');
  const fallback = new AddressRateLimit(max, windowMs);
  return {
    async take(address) {
      try {
        await withDeadline(limiter.consume(address), SHARED_LIMIT_DEADLINE_MS);
        return 0;
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        if (refusal instanceof RedisDeadlineError) return fallback.take(address);
        throw refusal;
      }
    },
  };
}

/**
 * The access check for one server. Each transport's attempts are counted in a budget of their
 * own (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS per client address): an HTTP request, a
 * WebSocket upgrade and a gRPC call are each one attempt.
 */
export function createAccessCheck(config: AccessConfig): AccessCheck {
  let redis: Promise<RedisClient> | undefined;
  let closed = false;
  const limits = new Map<AccessTransport, Promise<AttemptLimit>>();
  const limitFor = (transport: AccessTransport): Promise<AttemptLimit> | undefined => {
    if (config.rateLimitMax <= 0) return undefined;
    let limit = limits.get(transport);
    if (!limit) {
      const { redisUrl } = config;
      if (redisUrl && !closed) {
        redis ??= import('./redis-client.ts').then(({ createRedisClient }) =>
          createRedisClient({ url: redisUrl, name: 'rate limits' }),
        );
        // Wait (bounded) for the first connection: until it is ready every attempt would be
        // counted by this instance's insurance limiter alone, apart from the other instances.
        limit = redis.then(async (client) => {
          const { whenReady } = await import('./redis-client.ts');
          await whenReady(client, { what: 'the shared rate limits' }).catch(() => undefined);
          return redisLimit(client, transport, config.rateLimitMax, config.rateLimitWindowMs);
        });
      } else limit = Promise.resolve(memoryLimit(config.rateLimitMax, config.rateLimitWindowMs));
      limits.set(transport, limit);
    }
    return limit;
  };
  const windowSeconds = Math.round(config.rateLimitWindowMs / 1000);
  const trust = compileTrust(config.trustProxy);
  const hosts = allowedHostsFor(config.host ?? '127.0.0.1', config.allowedHosts ?? []);
  const verifyJwt = createJwtVerifier({
    secret: config.jwtSecret,
    jwksUrl: config.jwtJwksUrl,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
  const authenticated = Boolean(config.authToken || verifyJwt);

  /** The principal the credentials name, or undefined when none is valid. */
  const principalOf = async (request: AccessRequest): Promise<string | undefined> => {
    for (const token of requestTokens(request.headers, request.url)) {
      if (config.authToken && tokenMatches(token, config.authToken)) return TOKEN_PRINCIPAL;
      if (verifyJwt && looksLikeJwt(token)) {
        try {
          return await verifyJwt(token);
        } catch {
          // expired, wrong key, issuer or audience: not a credential (the refusal says no more)
        }
      }
    }
    return undefined;
  };

  return {
    async check(request) {
      const address = clientAddress(request.peer, request.headers, trust);
      if (!request.probe) {
        const limit = await limitFor(request.transport);
        const retryAfterSeconds = (await limit?.take(address)) ?? 0;
        if (retryAfterSeconds > 0) {
          throw new ChatError(
            'rate_limited',
            `more than ${config.rateLimitMax} ${ATTEMPTS[request.transport]} in ${windowSeconds} s ` +
              `from this address; retry after ${retryAfterSeconds} s (RATE_LIMIT_MAX)`,
            { retryAfterSeconds },
          );
        }
      }
      const host = first(request.headers.host) ?? first(request.headers[':authority']);
      if (hosts && host !== undefined && !request.probe && !hostAllowed(host, hosts)) {
        // Not echoed: the header is the attacker's text.
        throw new ChatError('forbidden', "this Host is not one of the server's names (ALLOWED_HOSTS)");
      }
      const origin = first(request.headers.origin);
      if (!originAllowed(origin, host, config.allowedOrigins)) {
        throw new ChatError('forbidden', `origin ${bounded(origin)} is not allowed (ALLOWED_ORIGINS)`);
      }
      if (!authenticated || request.probe) return { principal: ANONYMOUS_PRINCIPAL, clientAddress: address };
      const principal = await principalOf(request);
      if (principal === undefined) {
        throw new ChatError('unauthorized', `missing or wrong token: ${TOKEN_HINT[request.transport]}`);
      }
      return { principal, clientAddress: address };
    },
    async close() {
      closed = true;
      const client = redis;
      redis = undefined;
      if (!client) return;
      const { closeRedisClient } = await import('./redis-client.ts');
      await closeRedisClient(await client);
    },
  };
}

/** A client's text in a message, cut to a length that fits any header or trailer. */
function bounded(text: string | undefined): string {
  return text && text.length > 100 ? `${text.slice(0, 100)}…` : String(text);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
