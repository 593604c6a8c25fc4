// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Send a message on the Chat stream; the reply arrives as start/delta/done|error events.
 */
export interface SendCommand {
  /**
   * The session to talk in (required).
   */
  'sessionId'?: (string);
  /**
   * The user's message: not blank, at most MAX_MESSAGE_CHARS characters.
   */
  'text'?: (string);
}

/**
 * Send a message on the Chat stream; the reply arrives as start/delta/done|error events.
 */
export interface SendCommand__Output {
  /**
   * The session to talk in (required).
   */
  'sessionId': (string);
  /**
   * The user's message: not blank, at most MAX_MESSAGE_CHARS characters.
   */
  'text': (string);
}
