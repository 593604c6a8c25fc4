// Original file: ../../proto/genai/chat/v1/chat.proto

import type { LatencySummary as _genai_chat_v1_LatencySummary, LatencySummary__Output as _genai_chat_v1_LatencySummary__Output } from '../../../genai/chat/v1/LatencySummary.ts';

/**
 * Latency summaries.
 */
export interface Latencies {
  /**
   * Time to first token of completed turns.
   */
  'ttft'?: (_genai_chat_v1_LatencySummary | null);
  /**
   * Total time of completed turns.
   */
  'total'?: (_genai_chat_v1_LatencySummary | null);
}

/**
 * Latency summaries.
 */
export interface Latencies__Output {
  /**
   * Time to first token of completed turns.
   */
  'ttft': (_genai_chat_v1_LatencySummary__Output | null);
  /**
   * Total time of completed turns.
   */
  'total': (_genai_chat_v1_LatencySummary__Output | null);
}
