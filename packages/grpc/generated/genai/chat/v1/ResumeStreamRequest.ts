// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Which reply to read, and from where.
 */
export interface ResumeStreamRequest {
  /**
   * The session of the reply (required).
   */
  'sessionId'?: (string);
  /**
   * The reply: the message_id of its `start` (required).
   */
  'messageId'?: (string);
  /**
   * The `seq` of the last event already read; 0: the reply from its start.
   */
  'after'?: (number | string | Long);
}

/**
 * Which reply to read, and from where.
 */
export interface ResumeStreamRequest__Output {
  /**
   * The session of the reply (required).
   */
  'sessionId': (string);
  /**
   * The reply: the message_id of its `start` (required).
   */
  'messageId': (string);
  /**
   * The `seq` of the last event already read; 0: the reply from its start.
   */
  'after': (string);
}
