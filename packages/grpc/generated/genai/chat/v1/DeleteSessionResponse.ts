// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * An empty answer: the session is gone.
 */
export interface DeleteSessionResponse {
}

/**
 * An empty answer: the session is gone.
 */
export interface DeleteSessionResponse__Output {
}
