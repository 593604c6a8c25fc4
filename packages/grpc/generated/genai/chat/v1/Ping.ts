// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A liveness and latency probe on the Chat stream.
 */
export interface Ping {
  /**
   * Any number, e.g. the client's clock in ms since the epoch; the pong echoes it.
   * (An int64: a string in JavaScript with proto-loader's longs:String.)
   */
  'ts'?: (number | string | Long);
}

/**
 * A liveness and latency probe on the Chat stream.
 */
export interface Ping__Output {
  /**
   * Any number, e.g. the client's clock in ms since the epoch; the pong echoes it.
   * (An int64: a string in JavaScript with proto-loader's longs:String.)
   */
  'ts': (string);
}
