// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * The model that answers in a session.
 */
export interface ModelInfo {
  /**
   * "gemini" or "simulated" (the offline default).
   */
  'provider'?: (string);
  /**
   * The model id, e.g. "gemini-2.5-flash" or "simulated-1".
   */
  'id'?: (string);
}

/**
 * The model that answers in a session.
 */
export interface ModelInfo__Output {
  /**
   * "gemini" or "simulated" (the offline default).
   */
  'provider': (string);
  /**
   * The model id, e.g. "gemini-2.5-flash" or "simulated-1".
   */
  'id': (string);
}
