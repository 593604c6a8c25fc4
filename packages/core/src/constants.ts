/** The five transports, in the order the READMEs and tables use. */
export const PROTOCOLS = ['rest', 'streamable-http', 'sse', 'websocket', 'grpc'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Default ports, chosen so that all five servers can run at once. */
export const DEFAULT_PORTS: Readonly<Record<Protocol, number>> = {
  rest: 8001,
  'streamable-http': 8002,
  sse: 8003,
  websocket: 8004,
  grpc: 50051,
};

/** The lab (`pnpm lab`, the race page), beside the five servers' ports. */
export const DEFAULT_LAB_PORT = 8000;

export const DEFAULT_HOST = '127.0.0.1';

/** The gRPC server's HTTP listener for GET /metrics (METRICS_PORT): Prometheus exporters' usual port. */
export const DEFAULT_METRICS_PORT = 9464;

/** A current Gemini Flash model (gemini-2.0-flash, used by older examples, is being retired). */
export const DEFAULT_GEMINI_MODEL_ID = 'gemini-2.5-flash';
export const SIMULATED_MODEL_ID = 'simulated-1';

export const DEFAULT_MAX_MESSAGE_CHARS = 16_000;
/** Room for the largest message in JSON plus escaping (a character can take up to 6 bytes as \uXXXX). */
export const DEFAULT_BODY_LIMIT_BYTES = 128 * 1024;

/** The simulated model's defaults feel like a fast hosted model: ~350 ms to first token, ~40 tokens/s. */
export const DEFAULT_SIM_TTFT_MS = 350;
export const DEFAULT_SIM_TOKEN_DELAY_MS = 25;

/** Idle sessions are forgotten after a day. */
export const DEFAULT_SESSION_TTL_MS = 24 * 3_600_000;
/** The model sees at most this many recent messages (oldest turns dropped first). */
export const DEFAULT_MAX_HISTORY_MESSAGES = 40;
/** Per client: 600 requests (or WebSocket frames) a minute, 10/s on average. */
export const DEFAULT_RATE_LIMIT_MAX = 600;
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;
/** Replies in flight on one server; past it a send gets rate_limited / RESOURCE_EXHAUSTED. */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 2_000;

/** The longest reply kept, characters, whatever the provider (MAX_REPLY_CHARS); past it: max_tokens. */
export const DEFAULT_MAX_REPLY_CHARS = 32_000;
/** What Gemini is asked for at most (MAX_OUTPUT_TOKENS, generationConfig.maxOutputTokens). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8_192;
/**
 * A reply lock in Redis expires this long after it was taken or renewed (REDIS_LOCK_TTL_MS); the
 * holder renews it every third of it, so a crashed holder frees its session within seconds.
 */
export const DEFAULT_REDIS_LOCK_TTL_MS = 5_000;
/** How long /health and gRPC health wait for a Redis PING before saying `degraded` / NOT_SERVING. */
export const DEPENDENCY_PING_TIMEOUT_MS = 500;

/**
 * Longest time to receive a whole HTTP request, headers and body (Node's requestTimeout; Fastify
 * 5 leaves it at 0 = never): a body that never finishes is answered 408 and closed.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Longest time to receive the request headers (Node's headersTimeout). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** An SSE stream whose writes have not drained for this long is a frozen listener: closed. */
export const SSE_STALL_TIMEOUT_MS = 30_000;
/** Concurrent HTTP/2 streams one gRPC connection may open (grpc.max_concurrent_streams). */
export const GRPC_MAX_STREAMS_PER_CONNECTION = 100;
/** Concurrent gRPC calls (Health/Watch included) from one client address. */
export const GRPC_MAX_CALLS_PER_ADDRESS = 200;
/** Most sessions one page of GET /sessions (ListSessions) holds, and its default. */
export const MAX_SESSION_PAGE = 100;
export const DEFAULT_SESSION_PAGE = 50;

export const HEARTBEAT_INTERVAL_MS = 15_000;
export const SHUTDOWN_TIMEOUT_MS = 4_000;

/** The instructions every provider is given; the simulated model ignores them. */
export const SYSTEM_PROMPT =
  'You are a concise, friendly assistant in a demo that compares network transports. Answer in a few sentences.';
