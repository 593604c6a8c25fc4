// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Errors answered.
 */
export interface ErrorCounts {
  /**
   * All errors.
   */
  'total'?: (number);
  /**
   * Per error code ("session_not_found", "invalid_request", …).
   */
  'byCode'?: ({[key: string]: number});
}

/**
 * Errors answered.
 */
export interface ErrorCounts__Output {
  /**
   * All errors.
   */
  'total': (number);
  /**
   * Per error code ("session_not_found", "invalid_request", …).
   */
  'byCode': ({[key: string]: number});
}
