// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Which session to get.
 */
export interface GetSessionRequest {
  /**
   * The session id (required).
   */
  'sessionId'?: (string);
}

/**
 * Which session to get.
 */
export interface GetSessionRequest__Output {
  /**
   * The session id (required).
   */
  'sessionId': (string);
}
