// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Token counts of one turn.
 */
export interface Usage {
  /**
   * Tokens of the prompt (the history plus the new message).
   */
  'inputTokens'?: (number);
  /**
   * Tokens of the reply.
   */
  'outputTokens'?: (number);
}

/**
 * Token counts of one turn.
 */
export interface Usage__Output {
  /**
   * Tokens of the prompt (the history plus the new message).
   */
  'inputTokens': (number);
  /**
   * Tokens of the reply.
   */
  'outputTokens': (number);
}
