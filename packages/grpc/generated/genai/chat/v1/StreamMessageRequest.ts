// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * StreamMessage's request: the same fields as SendMessageRequest.
 */
export interface StreamMessageRequest {
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
 * StreamMessage's request: the same fields as SendMessageRequest.
 */
export interface StreamMessageRequest__Output {
  /**
   * The session to talk in (required).
   */
  'sessionId': (string);
  /**
   * The user's message: not blank, at most MAX_MESSAGE_CHARS characters.
   */
  'text': (string);
}
