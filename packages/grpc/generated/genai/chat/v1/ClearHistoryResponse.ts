// Original file: ../../proto/genai/chat/v1/chat.proto


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
