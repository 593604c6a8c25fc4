// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * The reply has begun: the user's message is in the history.
 */
export interface StartEvent {
  /**
   * The session the reply belongs to.
   */
  'sessionId'?: (string);
  /**
   * The id of the model's message; every later event of this reply carries it.
   */
  'messageId'?: (string);
}

/**
 * The reply has begun: the user's message is in the history.
 */
export interface StartEvent__Output {
  /**
   * The session the reply belongs to.
   */
  'sessionId': (string);
  /**
   * The id of the model's message; every later event of this reply carries it.
   */
  'messageId': (string);
}
