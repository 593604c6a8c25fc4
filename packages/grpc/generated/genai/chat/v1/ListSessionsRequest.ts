// Original file: ../../proto/chat.proto


/**
 * ListSessions takes no arguments.
 */
export interface ListSessionsRequest {
}

/**
 * ListSessions takes no arguments.
 */
export interface ListSessionsRequest__Output {
}
