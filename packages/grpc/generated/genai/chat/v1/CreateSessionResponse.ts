// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';

/**
 * CreateSession's answer.
 */
export interface CreateSessionResponse {
  /**
   * The new, empty session.
   */
  'session'?: (_genai_chat_v1_Session | null);
}

/**
 * CreateSession's answer.
 */
export interface CreateSessionResponse__Output {
  /**
   * The new, empty session.
   */
  'session': (_genai_chat_v1_Session__Output | null);
}
