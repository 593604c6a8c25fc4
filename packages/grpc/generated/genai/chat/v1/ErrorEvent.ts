// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Error as _genai_chat_v1_Error, Error__Output as _genai_chat_v1_Error__Output } from '../../../genai/chat/v1/Error.ts';

/**
 * The reply failed after it began (the user's turn is rolled back), or, on the Chat stream,
 * a client event was refused (then message_id is empty).
 */
export interface ErrorEvent {
  /**
   * The reply that failed; empty when no reply had begun.
   */
  'messageId'?: (string);
  /**
   * What went wrong.
   */
  'error'?: (_genai_chat_v1_Error | null);
}

/**
 * The reply failed after it began (the user's turn is rolled back), or, on the Chat stream,
 * a client event was refused (then message_id is empty).
 */
export interface ErrorEvent__Output {
  /**
   * The reply that failed; empty when no reply had begun.
   */
  'messageId': (string);
  /**
   * What went wrong.
   */
  'error': (_genai_chat_v1_Error__Output | null);
}
