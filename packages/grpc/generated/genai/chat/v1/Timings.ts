// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Server-side timings of one turn, in milliseconds.
 */
export interface Timings {
  /**
   * From receiving the message to the model's first token.
   */
  'ttftMs'?: (number | string);
  /**
   * From receiving the message to the end of the reply.
   */
  'totalMs'?: (number | string);
}

/**
 * Server-side timings of one turn, in milliseconds.
 */
export interface Timings__Output {
  /**
   * From receiving the message to the model's first token.
   */
  'ttftMs': (number);
  /**
   * From receiving the message to the end of the reply.
   */
  'totalMs': (number);
}
