// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Which session's reply to stop.
 */
export interface CancelReplyRequest {
  /**
   * The session whose reply to stop (required).
   */
  'sessionId'?: (string);
}

/**
 * Which session's reply to stop.
 */
export interface CancelReplyRequest__Output {
  /**
   * The session whose reply to stop (required).
   */
  'sessionId': (string);
}
