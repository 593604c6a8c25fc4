// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Whose history to get.
 */
export interface GetHistoryRequest {
  /**
   * The session id (required).
   */
  'sessionId'?: (string);
}

/**
 * Whose history to get.
 */
export interface GetHistoryRequest__Output {
  /**
   * The session id (required).
   */
  'sessionId': (string);
}
