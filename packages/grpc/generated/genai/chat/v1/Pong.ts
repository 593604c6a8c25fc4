// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The answer to a Ping.
 */
export interface Pong {
  /**
   * The ping's `ts`, unchanged.
   */
  'ts'?: (number | string | Long);
  /**
   * The server's clock when it answered, ms since the epoch.
   */
  'serverTs'?: (number | string | Long);
}

/**
 * The answer to a Ping.
 */
export interface Pong__Output {
  /**
   * The ping's `ts`, unchanged.
   */
  'ts': (string);
  /**
   * The server's clock when it answered, ms since the epoch.
   */
  'serverTs': (string);
}
