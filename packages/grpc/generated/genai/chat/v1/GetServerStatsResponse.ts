// Original file: ../../proto/genai/chat/v1/chat.proto

import type { SessionCounts as _genai_chat_v1_SessionCounts, SessionCounts__Output as _genai_chat_v1_SessionCounts__Output } from '../../../genai/chat/v1/SessionCounts.ts';
import type { ActiveTotal as _genai_chat_v1_ActiveTotal, ActiveTotal__Output as _genai_chat_v1_ActiveTotal__Output } from '../../../genai/chat/v1/ActiveTotal.ts';
import type { TurnCounts as _genai_chat_v1_TurnCounts, TurnCounts__Output as _genai_chat_v1_TurnCounts__Output } from '../../../genai/chat/v1/TurnCounts.ts';
import type { ErrorCounts as _genai_chat_v1_ErrorCounts, ErrorCounts__Output as _genai_chat_v1_ErrorCounts__Output } from '../../../genai/chat/v1/ErrorCounts.ts';
import type { ByteCounts as _genai_chat_v1_ByteCounts, ByteCounts__Output as _genai_chat_v1_ByteCounts__Output } from '../../../genai/chat/v1/ByteCounts.ts';
import type { Latencies as _genai_chat_v1_Latencies, Latencies__Output as _genai_chat_v1_Latencies__Output } from '../../../genai/chat/v1/Latencies.ts';
import type { ModelInfo as _genai_chat_v1_ModelInfo, ModelInfo__Output as _genai_chat_v1_ModelInfo__Output } from '../../../genai/chat/v1/ModelInfo.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * The core stats: the JSON of GET /stats, field for field, plus the model in use.
 */
export interface GetServerStatsResponse {
  /**
   * "grpc".
   */
  'protocol'?: (string);
  /**
   * Seconds since the server started.
   */
  'uptimeSeconds'?: (number | string | Long);
  /**
   * Sessions held.
   */
  'sessions'?: (_genai_chat_v1_SessionCounts | null);
  /**
   * Reply streams (one per turn).
   */
  'streams'?: (_genai_chat_v1_ActiveTotal | null);
  /**
   * Long-lived connections (Chat streams).
   */
  'connections'?: (_genai_chat_v1_ActiveTotal | null);
  /**
   * How turns ended.
   */
  'turns'?: (_genai_chat_v1_TurnCounts | null);
  /**
   * Errors answered.
   */
  'errors'?: (_genai_chat_v1_ErrorCounts | null);
  /**
   * Payload bytes.
   */
  'bytes'?: (_genai_chat_v1_ByteCounts | null);
  /**
   * Latency percentiles.
   */
  'latencyMs'?: (_genai_chat_v1_Latencies | null);
  /**
   * The model that answers (what GET /health reports over HTTP).
   */
  'model'?: (_genai_chat_v1_ModelInfo | null);
}

/**
 * The core stats: the JSON of GET /stats, field for field, plus the model in use.
 */
export interface GetServerStatsResponse__Output {
  /**
   * "grpc".
   */
  'protocol': (string);
  /**
   * Seconds since the server started.
   */
  'uptimeSeconds': (string);
  /**
   * Sessions held.
   */
  'sessions': (_genai_chat_v1_SessionCounts__Output | null);
  /**
   * Reply streams (one per turn).
   */
  'streams': (_genai_chat_v1_ActiveTotal__Output | null);
  /**
   * Long-lived connections (Chat streams).
   */
  'connections': (_genai_chat_v1_ActiveTotal__Output | null);
  /**
   * How turns ended.
   */
  'turns': (_genai_chat_v1_TurnCounts__Output | null);
  /**
   * Errors answered.
   */
  'errors': (_genai_chat_v1_ErrorCounts__Output | null);
  /**
   * Payload bytes.
   */
  'bytes': (_genai_chat_v1_ByteCounts__Output | null);
  /**
   * Latency percentiles.
   */
  'latencyMs': (_genai_chat_v1_Latencies__Output | null);
  /**
   * The model that answers (what GET /health reports over HTTP).
   */
  'model': (_genai_chat_v1_ModelInfo__Output | null);
}
