// Original file: ../../proto/chat.proto


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
