// Original file: ../../proto/chat.proto


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
