// Original file: ../../proto/chat.proto


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
