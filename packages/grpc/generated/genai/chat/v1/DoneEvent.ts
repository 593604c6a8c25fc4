// Original file: ../../proto/genai/chat/v1/chat.proto

import type { FinishReason as _genai_chat_v1_FinishReason, FinishReason__Output as _genai_chat_v1_FinishReason__Output } from '../../../genai/chat/v1/FinishReason.ts';
import type { Usage as _genai_chat_v1_Usage, Usage__Output as _genai_chat_v1_Usage__Output } from '../../../genai/chat/v1/Usage.ts';
import type { Timings as _genai_chat_v1_Timings, Timings__Output as _genai_chat_v1_Timings__Output } from '../../../genai/chat/v1/Timings.ts';

/**
 * The reply has ended (completed, cancelled or cut at the token limit).
 */
export interface DoneEvent {
  /**
   * The reply that ended.
   */
  'messageId'?: (string);
  /**
   * Why it ended.
   */
  'finishReason'?: (_genai_chat_v1_FinishReason);
  /**
   * Token counts.
   */
  'usage'?: (_genai_chat_v1_Usage | null);
  /**
   * Server-side timings.
   */
  'timings'?: (_genai_chat_v1_Timings | null);
}

/**
 * The reply has ended (completed, cancelled or cut at the token limit).
 */
export interface DoneEvent__Output {
  /**
   * The reply that ended.
   */
  'messageId': (string);
  /**
   * Why it ended.
   */
  'finishReason': (_genai_chat_v1_FinishReason__Output);
  /**
   * Token counts.
   */
  'usage': (_genai_chat_v1_Usage__Output | null);
  /**
   * Server-side timings.
   */
  'timings': (_genai_chat_v1_Timings__Output | null);
}
