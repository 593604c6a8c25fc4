// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * CancelReply's answer.
 */
export interface CancelReplyResponse {
  /**
   * True when a reply was running (here, or on another instance) and was told to stop.
   */
  'cancelled'?: (boolean);
}

/**
 * CancelReply's answer.
 */
export interface CancelReplyResponse__Output {
  /**
   * True when a reply was running (here, or on another instance) and was told to stop.
   */
  'cancelled': (boolean);
}
