// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * SendMessage's request.
 */
export interface SendMessageRequest {
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
 * SendMessage's request.
 */
export interface SendMessageRequest__Output {
  /**
   * The session to talk in (required).
   */
  'sessionId': (string);
  /**
   * The user's message: not blank, at most MAX_MESSAGE_CHARS characters.
   */
  'text': (string);
}
