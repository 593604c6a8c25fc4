// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Who to invite into which session.
 */
export interface ShareSessionRequest {
  /**
   * The session id (required).
   */
  'sessionId'?: (string);
  /**
   * The principal to invite: "token" (AUTH_TOKEN) or a JWT's sub.
   */
  'principal'?: (string);
}

/**
 * Who to invite into which session.
 */
export interface ShareSessionRequest__Output {
  /**
   * The session id (required).
   */
  'sessionId': (string);
  /**
   * The principal to invite: "token" (AUTH_TOKEN) or a JWT's sub.
   */
  'principal': (string);
}
