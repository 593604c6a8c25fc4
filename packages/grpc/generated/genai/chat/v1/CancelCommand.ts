// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Cancel the reply running in a session. Nothing happens when none is running.
 */
export interface CancelCommand {
  /**
   * The session whose reply to stop (required).
   */
  'sessionId'?: (string);
}

/**
 * Cancel the reply running in a session. Nothing happens when none is running.
 */
export interface CancelCommand__Output {
  /**
   * The session whose reply to stop (required).
   */
  'sessionId': (string);
}
