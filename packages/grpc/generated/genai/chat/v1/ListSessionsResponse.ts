// Original file: ../../proto/chat.proto

import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';

/**
 * Every session.
 */
export interface ListSessionsResponse {
  /**
   * Oldest first.
   */
  'sessions'?: (_genai_chat_v1_Session)[];
}

/**
 * Every session.
 */
export interface ListSessionsResponse__Output {
  /**
   * Oldest first.
   */
  'sessions': (_genai_chat_v1_Session__Output)[];
}
