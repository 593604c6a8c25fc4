// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';

/**
 * GetSession's answer.
 */
export interface GetSessionResponse {
  /**
   * The session.
   */
  'session'?: (_genai_chat_v1_Session | null);
}

/**
 * GetSession's answer.
 */
export interface GetSessionResponse__Output {
  /**
   * The session.
   */
  'session': (_genai_chat_v1_Session__Output | null);
}
