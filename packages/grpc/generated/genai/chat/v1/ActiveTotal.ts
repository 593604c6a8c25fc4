// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * A gauge and a counter.
 */
export interface ActiveTotal {
  /**
   * Open now.
   */
  'active'?: (number);
  /**
   * Opened since the server started.
   */
  'total'?: (number);
}

/**
 * A gauge and a counter.
 */
export interface ActiveTotal__Output {
  /**
   * Open now.
   */
  'active': (number);
  /**
   * Opened since the server started.
   */
  'total': (number);
}
