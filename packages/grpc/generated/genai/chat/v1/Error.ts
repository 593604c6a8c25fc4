// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Why something failed: the code and message of the JSON contract's `{error:{code,message}}`.
 */
export interface Error {
  /**
   * A stable code: "invalid_request", "session_not_found", "session_busy",
   * "payload_too_large", "model_error", "internal", …
   */
  'code'?: (string);
  /**
   * A message for people that says why.
   */
  'message'?: (string);
}

/**
 * Why something failed: the code and message of the JSON contract's `{error:{code,message}}`.
 */
export interface Error__Output {
  /**
   * A stable code: "invalid_request", "session_not_found", "session_busy",
   * "payload_too_large", "model_error", "internal", …
   */
  'code': (string);
  /**
   * A message for people that says why.
   */
  'message': (string);
}
