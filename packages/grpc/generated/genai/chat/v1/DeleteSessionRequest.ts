// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Which session to delete.
 */
export interface DeleteSessionRequest {
  /**
   * The session id (required).
   */
  'sessionId'?: (string);
}

/**
 * Which session to delete.
 */
export interface DeleteSessionRequest__Output {
  /**
   * The session id (required).
   */
  'sessionId': (string);
}
