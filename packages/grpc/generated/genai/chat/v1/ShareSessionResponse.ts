// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';

/**
 * ShareSession's answer.
 */
export interface ShareSessionResponse {
  /**
   * The session, shared.
   */
  'session'?: (_genai_chat_v1_Session | null);
}

/**
 * ShareSession's answer.
 */
export interface ShareSessionResponse__Output {
  /**
   * The session, shared.
   */
  'session': (_genai_chat_v1_Session__Output | null);
}
