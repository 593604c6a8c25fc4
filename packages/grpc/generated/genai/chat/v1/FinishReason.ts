// Original file: ../../proto/genai/chat/v1/chat.proto

/**
 * Why a reply ended.
 */
export const FinishReason = {
  /**
   * Never sent; the proto3 zero value.
   */
  FINISH_REASON_UNSPECIFIED: 'FINISH_REASON_UNSPECIFIED',
  /**
   * The model finished its answer.
   */
  FINISH_REASON_STOP: 'FINISH_REASON_STOP',
  /**
   * The client cancelled (or its deadline passed, or the server shut down); the partial
   * text is kept in the history, marked interrupted.
   */
  FINISH_REASON_CANCELLED: 'FINISH_REASON_CANCELLED',
  /**
   * The model hit its output token limit.
   */
  FINISH_REASON_MAX_TOKENS: 'FINISH_REASON_MAX_TOKENS',
} as const;

/**
 * Why a reply ended.
 */
export type FinishReason =
  /**
   * Never sent; the proto3 zero value.
   */
  | 'FINISH_REASON_UNSPECIFIED'
  | 0
  /**
   * The model finished its answer.
   */
  | 'FINISH_REASON_STOP'
  | 1
  /**
   * The client cancelled (or its deadline passed, or the server shut down); the partial
   * text is kept in the history, marked interrupted.
   */
  | 'FINISH_REASON_CANCELLED'
  | 2
  /**
   * The model hit its output token limit.
   */
  | 'FINISH_REASON_MAX_TOKENS'
  | 3

/**
 * Why a reply ended.
 */
export type FinishReason__Output = typeof FinishReason[keyof typeof FinishReason]
