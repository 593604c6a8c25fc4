// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';

/**
 * One page of the caller's sessions.
 */
export interface ListSessionsResponse {
  /**
   * Oldest first.
   */
  'sessions'?: (_genai_chat_v1_Session)[];
  /**
   * Pass as page_token for the next page; empty on the last page.
   */
  'nextPageToken'?: (string);
}

/**
 * One page of the caller's sessions.
 */
export interface ListSessionsResponse__Output {
  /**
   * Oldest first.
   */
  'sessions': (_genai_chat_v1_Session__Output)[];
  /**
   * Pass as page_token for the next page; empty on the last page.
   */
  'nextPageToken': (string);
}
