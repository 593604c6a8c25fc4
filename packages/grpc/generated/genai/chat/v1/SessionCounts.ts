// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Sessions held by the server.
 */
export interface SessionCounts {
  /**
   * How many sessions exist.
   */
  'active'?: (number);
}

/**
 * Sessions held by the server.
 */
export interface SessionCounts__Output {
  /**
   * How many sessions exist.
   */
  'active': (number);
}
