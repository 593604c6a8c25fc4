// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * CreateSession takes no arguments.
 */
export interface CreateSessionRequest {
}

/**
 * CreateSession takes no arguments.
 */
export interface CreateSessionRequest__Output {
}
