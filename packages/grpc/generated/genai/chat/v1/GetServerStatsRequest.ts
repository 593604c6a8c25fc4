// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * GetServerStats takes no arguments.
 */
export interface GetServerStatsRequest {
}

/**
 * GetServerStats takes no arguments.
 */
export interface GetServerStatsRequest__Output {
}
