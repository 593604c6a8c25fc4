// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * How the turns ended.
 */
export interface TurnCounts {
  /**
   * Finished normally.
   */
  'completed'?: (number);
  /**
   * Cancelled (partial reply kept).
   */
  'cancelled'?: (number);
  /**
   * Failed (user turn rolled back).
   */
  'failed'?: (number);
}

/**
 * How the turns ended.
 */
export interface TurnCounts__Output {
  /**
   * Finished normally.
   */
  'completed': (number);
  /**
   * Cancelled (partial reply kept).
   */
  'cancelled': (number);
  /**
   * Failed (user turn rolled back).
   */
  'failed': (number);
}
