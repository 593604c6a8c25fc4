// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Whose history to clear.
 */
export interface ClearHistoryRequest {
  /**
   * The session id (required).
   */
  'sessionId'?: (string);
}

/**
 * Whose history to clear.
 */
export interface ClearHistoryRequest__Output {
  /**
   * The session id (required).
   */
  'sessionId': (string);
}
