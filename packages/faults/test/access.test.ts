/**
 * The one access check, seen from outside: ONE table of cases — who calls, with what token, from
 * which Origin, how often — run against all five real servers, each reached the way its own
 * clients reach it: REST and Streamable HTTP with `Authorization: Bearer`, SSE with
 * `?access_token=` (what an EventSource can send), the WebSocket upgrade with the `bearer.`
 * subprotocol (what a browser can send), gRPC with `authorization` metadata. Every transport must
 * give the same answer, each in its own idiom: an HTTP status, a refused upgrade, a gRPC status.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireError } from '../src/events.ts';
import { GrpcClient, grpc } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { type Running, TARGETS } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

const TOKEN = 'open-sesame';
const ALLOWED_ORIGIN = 'http://allowed.example';
const FOREIGN_ORIGIN = 'http://foreign.example';
const RATE_LIMIT_MAX = 3;
const JWT_SECRET = 'a-secret-of-at-least-32-bytes-for-hs256!';
const JWT_ISSUER = 'https://issuer.example';
const JWT_AUDIENCE = 'genai-transports';

/** An HS256 JWT; each field can be made wrong. */
async function jwt(
  options: { secret?: string; audience?: string; issuer?: string; expiresIn?: string | number } = {},
) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuer(options.issuer ?? JWT_ISSUER)
    .setAudience(options.audience ?? JWT_AUDIENCE)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}
/** Made once: signing is async, the table is not. */
const JWTS = {
  valid: await jwt(),
  expired: await jwt({ expiresIn: Math.floor(Date.now() / 1000) - 60 }),
  wrongAudience: await jwt({ audience: 'someone-else' }),
  wrongIssuer: await jwt({ issuer: 'https://other.example' }),
  wrongKey: await jwt({ secret: 'another-secret-of-at-least-32-bytes!!' }),
};
/** A token of characters that are not RFC 7230 token characters (base64 with + / =). */
const _BASE64_TOKEN = 'c2VjcmV0/K+ey==';
const RATE_LIMIT_WINDOW_MS = 60_000;

/** What a caller presents. */
interface Credentials {
  token?: string;
  origin?: string;
  /** The Host header (HTTP, the upgrade) or :authority (gRPC) the caller sends. */
  host?: string;
}

/** How the server answered one attempt, in every transport's terms. */
interface Outcome {
  admitted: boolean;
  /** The contract's error code of a refusal. */
  code?: string;
  /** The HTTP status (the four HTTP servers, the WebSocket upgrade) or the gRPC status code. */
  status?: number;
  /** How long to wait: the `retry-after` header; gRPC: the `retry after N s` of the details. */
  retryAfterSeconds?: number;
  /** The `www-authenticate` challenge of a 401 (HTTP and the upgrade; gRPC has none). */
  challenge?: string;
}

type Refusal = Extract<ErrorCode, 'unauthorized' | 'forbidden' | 'rate_limited'>;

/** Each refusal as each idiom says it. */
const REFUSED: Record<Refusal, { httpStatus: number; grpcStatus: number }> = {
  unauthorized: { httpStatus: 401, grpcStatus: grpc.status.UNAUTHENTICATED },
  forbidden: { httpStatus: 403, grpcStatus: grpc.status.PERMISSION_DENIED },
  rate_limited: { httpStatus: 429, grpcStatus: grpc.status.RESOURCE_EXHAUSTED },
};

interface Case {
  name: string;
  /** What the attempt presents. */
  credentials: Credentials;
  /** The health probe instead of a guarded call. */
  probe?: boolean;
  /** Made first, all admitted: guarded calls with the right token (they use up the budget), probes. */
  before?: { calls?: number; probes?: number };
  expected: 'admitted' | Refusal;
}

/** THE table. */
const CASES: readonly Case[] = [
  { name: 'no token', credentials: {}, expected: 'unauthorized' },
  { name: 'a wrong token', credentials: { token: 'open-sesame-not' }, expected: 'unauthorized' },
  { name: 'the right token', credentials: { token: TOKEN }, expected: 'admitted' },
  { name: 'a valid JWT (principal = sub)', credentials: { token: JWTS.valid }, expected: 'admitted' },
  { name: 'an expired JWT', credentials: { token: JWTS.expired }, expected: 'unauthorized' },
  {
    name: 'a JWT for another audience',
    credentials: { token: JWTS.wrongAudience },
    expected: 'unauthorized',
  },
  { name: 'a JWT of another issuer', credentials: { token: JWTS.wrongIssuer }, expected: 'unauthorized' },
  { name: 'a JWT signed with another key', credentials: { token: JWTS.wrongKey }, expected: 'unauthorized' },
  {
    name: 'the right token under a rebinding Host (DNS rebinding)',
    credentials: { token: TOKEN, host: 'rebind.attacker.example:8080' },
    expected: 'forbidden',
  },
  {
    name: 'the right token under a rebinding Host with its own Origin',
    credentials: {
      token: TOKEN,
      host: 'rebind.attacker.example:8080',
      origin: 'http://rebind.attacker.example:8080',
    },
    expected: 'forbidden',
  },
  {
    name: 'the right token under Host: localhost',
    credentials: { token: TOKEN, host: 'localhost:1' },
    expected: 'admitted',
  },
  {
    name: 'the right token from a foreign Origin',
    credentials: { token: TOKEN, origin: FOREIGN_ORIGIN },
    expected: 'forbidden',
  },
  {
    name: 'the right token from an allowed Origin',
    credentials: { token: TOKEN, origin: ALLOWED_ORIGIN },
    expected: 'admitted',
  },
  {
    name: `the right token, over the rate limit (${RATE_LIMIT_MAX} a window)`,
    credentials: { token: TOKEN },
    before: { calls: RATE_LIMIT_MAX },
    expected: 'rate_limited',
  },
  {
    name: 'a wrong token, over the rate limit: the limit is counted first',
    credentials: { token: 'guess' },
    before: { calls: RATE_LIMIT_MAX },
    expected: 'rate_limited',
  },
  { name: 'the health probe without a token', credentials: {}, probe: true, expected: 'admitted' },
  {
    name: 'the health probe without a token, the budget used up',
    credentials: {},
    probe: true,
    before: { calls: RATE_LIMIT_MAX },
    expected: 'admitted',
  },
  {
    name: 'the right token after more probes than the budget: probes are not counted',
    credentials: { token: TOKEN },
    before: { probes: RATE_LIMIT_MAX + 1 },
    expected: 'admitted',
  },
];

/** How one transport's clients knock: one guarded attempt, and the probe. */
interface Door {
  attempt(run: Running, credentials: Credentials): Promise<Outcome>;
  probe(run: Running): Promise<Outcome>;
}

function retryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined ? undefined : Number(text);
}

function httpOutcome(answer: { status: number; headers: IncomingHttpHeaders; body: unknown }): Outcome {
  if (answer.status < 300) return { admitted: true, status: answer.status };
  const challenge = answer.headers['www-authenticate'];
  const retry = retryAfter(answer.headers['retry-after']);
  return {
    admitted: false,
    status: answer.status,
    ...errorCode(answer.body),
    ...(typeof challenge === 'string' ? { challenge } : {}),
    ...(retry !== undefined ? { retryAfterSeconds: retry } : {}),
  };
}

function errorCode(body: unknown): { code?: string } {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? { code } : {};
}

/** The shared probe of the four HTTP servers: GET /health with no credentials. */
async function httpProbe(run: Running): Promise<Outcome> {
  const api = new HttpJson(run.url);
  try {
    return httpOutcome(await api.call('GET', '/health'));
  } finally {
    await api.close();
  }
}

/** A guarded HTTP call, the token in the header (`header`) or the query (`query`, an EventSource). */
function httpDoor(tokenIn: 'header' | 'query'): Door {
  return {
    async attempt(run, { token, origin, host }) {
      const api = new HttpJson(run.url, tokenIn === 'header' ? token : undefined);
      const query = tokenIn === 'query' && token ? `?access_token=${encodeURIComponent(token)}` : '';
      const headers = { ...(origin ? { origin } : {}), ...(host ? { host } : {}) };
      try {
        return httpOutcome(await api.call('GET', `/sessions${query}`, undefined, headers));
      } finally {
        await api.close();
      }
    },
    probe: httpProbe,
  };
}

/** The WebSocket upgrade, the token as the `bearer.` subprotocol a browser offers. */
const wsDoor: Door = {
  async attempt(run, { token, origin, host }) {
    const ws = new WsClient(`${run.url.replace(/^http/, 'ws')}/ws`, {
      ...(token ? { token } : {}),
      headers: { ...(origin ? { origin } : {}), ...(host ? { host } : {}) },
    });
    try {
      await ws.opened;
      return { admitted: true, status: 101 };
    } catch (error) {
      const refusal = error as { status?: number; headers?: IncomingHttpHeaders; body?: unknown };
      if (refusal.status === undefined) throw error; // not an answer: a broken connection
      return httpOutcome({ status: refusal.status, headers: refusal.headers ?? {}, body: refusal.body });
    } finally {
      ws.close();
    }
  },
  probe: httpProbe, // the WebSocket server's probe is its HTTP /health
};

/** A grpc-js client of the contract that also sends an Origin, as a gRPC-Web page's proxy would. */
class GrpcCaller extends GrpcClient {
  readonly #origin: string | undefined;

  constructor(target: string, { token, origin, host }: Credentials) {
    super(target, {
      ...(token ? { token } : {}),
      ...(host ? { channel: { 'grpc.default_authority': host } } : {}),
    });
    this.#origin = origin;
  }

  override metadata(): grpc.Metadata {
    const metadata = super.metadata();
    if (this.#origin) metadata.set('origin', this.#origin);
    return metadata;
  }
}

/** A unary call with `authorization` metadata; the probe is grpc.health.v1 with none. */
const grpcDoor: Door = {
  async attempt(run, credentials) {
    const client = new GrpcCaller(run.url, credentials);
    try {
      await client.unary('ListSessions', {});
      return { admitted: true, status: grpc.status.OK };
    } catch (error) {
      const failure = error as WireError;
      if (failure.grpcCode === undefined) throw error;
      const retry = failure.message.match(/retry after (\d+) s/)?.[1];
      return {
        admitted: false,
        code: failure.code,
        status: failure.grpcCode,
        ...(retry !== undefined ? { retryAfterSeconds: Number(retry) } : {}),
      };
    } finally {
      client.close();
    }
  },
  async probe(run) {
    const client = new GrpcClient(run.url);
    try {
      return (await client.health())
        ? { admitted: true, status: grpc.status.OK }
        : { admitted: false, status: grpc.status.UNAVAILABLE };
    } finally {
      client.close();
    }
  },
};

const DOORS: Record<string, Door> = {
  rest: httpDoor('header'),
  'streamable-http': httpDoor('header'),
  sse: httpDoor('query'),
  websocket: wsDoor,
  grpc: grpcDoor,
};

describe.each(TARGETS)('$protocol: the shared access check', (t) => {
  const door = DOORS[t.protocol]!;
  let run: Running | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it.each(CASES)('$name → $expected', async (c) => {
    run = await t.start({
      config: testConfig({
        authToken: TOKEN,
        jwtSecret: JWT_SECRET,
        jwtIssuer: JWT_ISSUER,
        jwtAudience: JWT_AUDIENCE,
        allowedOrigins: [ALLOWED_ORIGIN],
        rateLimitMax: RATE_LIMIT_MAX,
        rateLimitWindowMs: RATE_LIMIT_WINDOW_MS,
      }),
    });
    for (let i = 0; i < (c.before?.calls ?? 0); i++) {
      expect(await door.attempt(run, { token: TOKEN }), `call ${i + 1} before`).toMatchObject({
        admitted: true,
      });
    }
    for (let i = 0; i < (c.before?.probes ?? 0); i++) {
      expect(await door.probe(run), `probe ${i + 1} before`).toMatchObject({ admitted: true });
    }

    const outcome = c.probe ? await door.probe(run) : await door.attempt(run, c.credentials);
    if (c.expected === 'admitted') {
      expect(outcome).toMatchObject({ admitted: true });
      return;
    }
    const { httpStatus, grpcStatus } = REFUSED[c.expected];
    expect(outcome).toMatchObject({
      admitted: false,
      code: c.expected,
      status: t.protocol === 'grpc' ? grpcStatus : httpStatus,
    });
    if (c.expected === 'unauthorized' && t.protocol !== 'grpc') expect(outcome.challenge).toMatch(/^Bearer /);
    if (c.expected === 'rate_limited') {
      expect(outcome.retryAfterSeconds).toBeGreaterThan(0);
      expect(outcome.retryAfterSeconds).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_MS / 1000);
    }
    // A refusal is not a broken server: the probe still answers.
    expect(await door.probe(run)).toMatchObject({ admitted: true });
  });
});
