// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Message as _genai_chat_v1_Message, Message__Output as _genai_chat_v1_Message__Output } from '../../../genai/chat/v1/Message.ts';

/**
 * The conversation so far.
 */
export interface GetHistoryResponse {
  /**
   * Oldest first; user and model turns alternate.
   */
  'messages'?: (_genai_chat_v1_Message)[];
}

/**
 * The conversation so far.
 */
export interface GetHistoryResponse__Output {
  /**
   * Oldest first; user and model turns alternate.
   */
  'messages': (_genai_chat_v1_Message__Output)[];
}
