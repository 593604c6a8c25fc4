import { z } from 'zod';
import {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_GEMINI_MODEL_ID,
  DEFAULT_HOST,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_HISTORY_MESSAGES,
  DEFAULT_MAX_MESSAGE_CHARS,
  DEFAULT_MAX_OUTPUT_TOKENS,
  DEFAULT_MAX_REPLY_CHARS,
  DEFAULT_METRICS_PORT,
  DEFAULT_RATE_LIMIT_MAX,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  DEFAULT_REDIS_LOCK_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SESSION_TTL_MS,
  DEFAULT_SIM_TOKEN_DELAY_MS,
  DEFAULT_SIM_TTFT_MS,
  HEARTBEAT_INTERVAL_MS,
  SHUTDOWN_TIMEOUT_MS,
} from './constants.ts';
import { readServerTls, type ServerTls } from './tls.ts';

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const int = (min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).optional());
const text = () => z.preprocess(emptyToUndefined, z.string().trim().min(1).optional());

/**
 * Every environment variable the project reads, in one place. `describe()` is the text shown
 * for a bad value and in the README's configuration table.
 */
const EnvSchema = z.object({
  HOST: text().describe('interface to listen on'),
  PORT: int(0, 65_535).describe('port to listen on (0 = any free port)'),
  GEMINI_API_KEY: text().describe('Gemini API key; selects the gemini provider'),
  GOOGLE_API_KEY: text().describe('alternative name for the Gemini API key'),
  GENAI_MODEL_ID: text().describe('Gemini model id'),
  GENAI_PROVIDER: z
    .preprocess(emptyToUndefined, z.enum(['auto', 'gemini', 'simulated']).optional())
    .describe('auto (gemini when a key is set), gemini or simulated'),
  SIM_TTFT_MS: int(0, 60_000).describe("simulated model's time to first token, ms"),
  SIM_TOKEN_DELAY_MS: int(0, 10_000).describe("simulated model's delay between tokens, ms"),
  SIM_FAIL_AFTER_TOKENS: int(0, 1_000_000).describe(
    'simulated model fails after this many tokens (fault injection)',
  ),
  MAX_MESSAGE_CHARS: int(1, 1_000_000).describe('longest user message, characters'),
  MAX_REPLY_CHARS: int(1, 100_000_000).describe(
    'longest model reply kept, characters, for every provider (past it: finishReason max_tokens)',
  ),
  MAX_OUTPUT_TOKENS: int(1, 1_000_000).describe('most tokens Gemini is asked for (maxOutputTokens)'),
  BODY_LIMIT_BYTES: int(1_024, 64 * 1024 * 1024).describe('largest HTTP request body, bytes'),
  HEARTBEAT_MS: int(100, 3_600_000).describe('SSE comment / WebSocket ping interval, ms'),
  SHUTDOWN_TIMEOUT_MS: int(0, 60_000).describe('how long shutdown waits for streams, ms'),
  AUTH_TOKEN: text().describe('when set, every route but /health needs it (Bearer token)'),
  ALLOWED_ORIGINS: text().describe('comma-separated browser origins allowed besides the server itself'),
  ALLOWED_HOSTS: text().describe(
    'comma-separated Host names (or host:port) the server answers to (default: loopback names when bound to loopback, any otherwise)',
  ),
  JWT_SECRET: text().describe('HS256 secret: accept JWTs signed with it (the principal is `sub`)'),
  JWT_JWKS_URL: text().describe('JWKS URL: accept JWTs signed by its keys (the principal is `sub`)'),
  JWT_ISSUER: text().describe('the `iss` a JWT must carry'),
  JWT_AUDIENCE: text().describe('the `aud` a JWT must carry'),
  TRUST_PROXY: text().describe(
    'the proxies whose X-Forwarded-For is believed: addresses/CIDRs, loopback, uniquelocal, or a hop count',
  ),
  REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).describe(
    'longest time to receive a whole HTTP request, ms (408 after)',
  ),
  SESSION_TTL_MS: int(0, 365 * 24 * 3_600_000).describe('idle session expiry, ms (0 = never)'),
  MAX_HISTORY_MESSAGES: int(2, 10_000).describe('most recent messages sent to the model'),
  RATE_LIMIT_MAX: int(0, 1_000_000).describe(
    'requests (or WebSocket frames) per client per window (0 = off)',
  ),
  RATE_LIMIT_WINDOW_MS: int(100, 3_600_000).describe('rate-limit window, ms'),
  MAX_CONCURRENT_STREAMS: int(1, 1_000_000).describe('replies in flight at once on one server'),
  REDIS_URL: text().describe('redis://host:port: share sessions, locks and streams between instances'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .preprocess(emptyToUndefined, z.url().optional())
    .describe('OTLP/HTTP base URL (e.g. http://127.0.0.1:4318): export a span per turn; unset = tracing off'),
  METRICS_PORT: int(0, 65_535).describe(
    'gRPC server: port of its HTTP listener for GET /metrics (default 9464)',
  ),
  REDIS_LOCK_TTL_MS: int(300, 600_000).describe(
    'a reply lock expires this long after its last renewal (renewed every third of it), ms',
  ),
  TLS_CERT_FILE: text().describe(
    'PEM certificate (chain) file: with TLS_KEY_FILE, every server speaks TLS (HTTPS + HTTP/2, WSS, gRPC createSsl)',
  ),
  TLS_KEY_FILE: text().describe('PEM private key file of TLS_CERT_FILE'),
  TLS_CA_FILE: text().describe('clients: PEM CA certificate to trust besides the system ones (as --ca)'),
  LOG_LEVEL: z
    .preprocess(
      emptyToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    )
    .describe('server log level'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  host: string;
  /** Undefined: each server uses its own default port. */
  port: number | undefined;
  provider: 'gemini' | 'simulated';
  geminiApiKey: string | undefined;
  modelId: string;
  simTtftMs: number;
  simTokenDelayMs: number;
  /** Fault injection: the simulated model fails with model_error after this many tokens. */
  simFailAfterTokens: number | undefined;
  maxMessageChars: number;
  /** The longest reply kept, characters, whatever the provider; past it the reply ends max_tokens. */
  maxReplyChars: number;
  /** What Gemini is asked for at most (generationConfig.maxOutputTokens). */
  maxOutputTokens: number;
  bodyLimitBytes: number;
  heartbeatMs: number;
  shutdownTimeoutMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Undefined: no authentication. */
  authToken: string | undefined;
  /** Browser origins allowed besides the server's own. */
  allowedOrigins: string[];
  /** Host header names (`name` or `name:port`) allowed; empty: the default of `defaultAllowedHosts`. */
  allowedHosts: string[];
  /** HS256 secret of accepted JWTs. */
  jwtSecret?: string | undefined;
  /** JWKS URL of accepted JWTs. */
  jwtJwksUrl?: string | undefined;
  jwtIssuer?: string | undefined;
  jwtAudience?: string | undefined;
  /** proxy-addr trust: addresses, CIDRs, names (loopback…) or a hop count; undefined: no proxy. */
  trustProxy?: string | undefined;
  /** Longest time to receive a whole HTTP request (headers and body), ms. */
  requestTimeoutMs: number;
  /** 0: sessions never expire. */
  sessionTtlMs: number;
  maxHistoryMessages: number;
  /** 0: no rate limit. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  maxConcurrentStreams: number;
  /** Undefined: one instance, everything in memory. */
  redisUrl: string | undefined;
  /** Undefined: tracing off. */
  otlpEndpoint: string | undefined;
  /** The gRPC server's metrics listener (the HTTP servers answer GET /metrics themselves). */
  metricsPort: number;
  /** A reply lock's TTL in Redis; its holder renews it every third of it. */
  redisLockTtlMs: number;
  /** TLS_CERT_FILE + TLS_KEY_FILE, read and checked at start-up; undefined: plaintext. */
  tls?: ServerTls | undefined;
}

/** A bad environment variable: the message names it and says what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Environment variable → what it means, for `--help` texts and the README. */
export const ENV_DESCRIPTIONS: Readonly<Record<keyof Env, string>> = Object.fromEntries(
  Object.entries(EnvSchema.shape).map(([name, schema]) => [name, schema.description ?? '']),
) as Record<keyof Env, string>;

/** Parse the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const got = env[name];
      return `  ${name}=${JSON.stringify(got)}: ${issue.message} (${ENV_DESCRIPTIONS[name as keyof Env] ?? ''})`;
    });
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const geminiApiKey = e.GEMINI_API_KEY ?? e.GOOGLE_API_KEY;
  const wanted = e.GENAI_PROVIDER ?? 'auto';
  if (wanted === 'gemini' && !geminiApiKey) {
    throw new ConfigError('GENAI_PROVIDER=gemini needs GEMINI_API_KEY (or GOOGLE_API_KEY) to be set');
  }
  if (Boolean(e.TLS_CERT_FILE) !== Boolean(e.TLS_KEY_FILE)) {
    throw new ConfigError(
      'TLS_CERT_FILE and TLS_KEY_FILE go together: set both (TLS on) or neither (plaintext)',
    );
  }
  const provider = wanted === 'auto' ? (geminiApiKey ? 'gemini' : 'simulated') : wanted;
  return {
    host: e.HOST ?? DEFAULT_HOST,
    port: e.PORT,
    provider,
    geminiApiKey,
    modelId: e.GENAI_MODEL_ID ?? DEFAULT_GEMINI_MODEL_ID,
    simTtftMs: e.SIM_TTFT_MS ?? DEFAULT_SIM_TTFT_MS,
    simTokenDelayMs: e.SIM_TOKEN_DELAY_MS ?? DEFAULT_SIM_TOKEN_DELAY_MS,
    simFailAfterTokens: e.SIM_FAIL_AFTER_TOKENS,
    maxMessageChars: e.MAX_MESSAGE_CHARS ?? DEFAULT_MAX_MESSAGE_CHARS,
    maxReplyChars: e.MAX_REPLY_CHARS ?? DEFAULT_MAX_REPLY_CHARS,
    maxOutputTokens: e.MAX_OUTPUT_TOKENS ?? DEFAULT_MAX_OUTPUT_TOKENS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES ?? DEFAULT_BODY_LIMIT_BYTES,
    heartbeatMs: e.HEARTBEAT_MS ?? HEARTBEAT_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS ?? SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL ?? 'info',
    authToken: e.AUTH_TOKEN,
    allowedOrigins: (e.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim().replace(/\/+$/, ''))
      .filter(Boolean),
    allowedHosts: list(e.ALLOWED_HOSTS).map((h) => h.toLowerCase()),
    jwtSecret: e.JWT_SECRET,
    jwtJwksUrl: e.JWT_JWKS_URL,
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    trustProxy: e.TRUST_PROXY,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS ?? DEFAULT_REQUEST_TIMEOUT_MS,
    sessionTtlMs: e.SESSION_TTL_MS ?? DEFAULT_SESSION_TTL_MS,
    maxHistoryMessages: e.MAX_HISTORY_MESSAGES ?? DEFAULT_MAX_HISTORY_MESSAGES,
    rateLimitMax: e.RATE_LIMIT_MAX ?? DEFAULT_RATE_LIMIT_MAX,
    rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS ?? DEFAULT_RATE_LIMIT_WINDOW_MS,
    maxConcurrentStreams: e.MAX_CONCURRENT_STREAMS ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    redisUrl: e.REDIS_URL,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    metricsPort: e.METRICS_PORT ?? DEFAULT_METRICS_PORT,
    redisLockTtlMs: e.REDIS_LOCK_TTL_MS ?? DEFAULT_REDIS_LOCK_TTL_MS,
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? readServerTls(e.TLS_CERT_FILE, e.TLS_KEY_FILE) : undefined,
  };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
