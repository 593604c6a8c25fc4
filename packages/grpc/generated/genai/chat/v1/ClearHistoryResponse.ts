// Original file: ../../proto/chat.proto


/**
 * An empty answer: the history is empty.
 */
export interface ClearHistoryResponse {
}

/**
 * An empty answer: the history is empty.
 */
export interface ClearHistoryResponse__Output {
}
