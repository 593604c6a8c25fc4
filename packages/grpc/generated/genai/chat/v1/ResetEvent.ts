// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The log no longer holds the reply from the point asked (older than the log, or unknown).
 */
export interface ResetEvent {
  /**
   * The newest sequence number the log holds.
   */
  'latestSeq'?: (number | string | Long);
  /**
   * Why, for people.
   */
  'reason'?: (string);
  /**
   * True: the reply follows from its `start`. False: it is over, or only its tail follows;
   * either way its whole text is in the history (GetHistory).
   */
  'replaying'?: (boolean);
}

/**
 * The log no longer holds the reply from the point asked (older than the log, or unknown).
 */
export interface ResetEvent__Output {
  /**
   * The newest sequence number the log holds.
   */
  'latestSeq': (string);
  /**
   * Why, for people.
   */
  'reason': (string);
  /**
   * True: the reply follows from its `start`. False: it is over, or only its tail follows;
   * either way its whole text is in the history (GetHistory).
   */
  'replaying': (boolean);
}
