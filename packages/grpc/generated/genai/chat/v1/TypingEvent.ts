// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Someone is (or stopped) typing in a session. The server passes it on to the other Chat
 * streams that have used the same session.
 */
export interface TypingEvent {
  /**
   * The session (required).
   */
  'sessionId'?: (string);
  /**
   * True when typing started, false when it stopped.
   */
  'active'?: (boolean);
  /**
   * Set by the server: which Chat stream is typing. Ignored when a client sends it.
   */
  'connectionId'?: (string);
}

/**
 * Someone is (or stopped) typing in a session. The server passes it on to the other Chat
 * streams that have used the same session.
 */
export interface TypingEvent__Output {
  /**
   * The session (required).
   */
  'sessionId': (string);
  /**
   * True when typing started, false when it stopped.
   */
  'active': (boolean);
  /**
   * Set by the server: which Chat stream is typing. Ignored when a client sends it.
   */
  'connectionId': (string);
}
