/**
 * The grpc-js server's channel options: message size, keepalive, streams per connection, and
 * the interceptors every call of every service passes.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Config, GRPC_MAX_STREAMS_PER_CONNECTION } from '@gtp/core';

/**
 * Keepalive: after HEARTBEAT_MS of silence (15 s, under common NAT and load-balancer idle
 * time-outs) the server sends an HTTP/2 PING; a client that does not answer within this is gone,
 * and its calls are cancelled.
 */
export const KEEPALIVE_TIMEOUT_MS = 10_000;

export function serverOptions(config: Config, interceptors: grpc.ServerInterceptor[]): grpc.ServerOptions {
  return {
    // A request larger than this is refused by grpc-js with RESOURCE_EXHAUSTED before any
    // handler runs. The longest valid message (MAX_MESSAGE_CHARS) fits well within it.
    'grpc.max_receive_message_length': config.bodyLimitBytes,
    'grpc.keepalive_time_ms': config.heartbeatMs,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    // A connection may hold this many calls at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS):
    // 20,000 Health/Watch streams on one connection no longer fit.
    'grpc.max_concurrent_streams': GRPC_MAX_STREAMS_PER_CONNECTION,
    interceptors,
  };
}
