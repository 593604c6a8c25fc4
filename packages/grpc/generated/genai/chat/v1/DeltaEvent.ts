// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * The next piece of the reply's text.
 */
export interface DeltaEvent {
  /**
   * The reply this piece belongs to.
   */
  'messageId'?: (string);
  /**
   * 0, 1, 2…: the order of the pieces.
   */
  'index'?: (number);
  /**
   * The text to append.
   */
  'text'?: (string);
}

/**
 * The next piece of the reply's text.
 */
export interface DeltaEvent__Output {
  /**
   * The reply this piece belongs to.
   */
  'messageId': (string);
  /**
   * 0, 1, 2…: the order of the pieces.
   */
  'index': (number);
  /**
   * The text to append.
   */
  'text': (string);
}
