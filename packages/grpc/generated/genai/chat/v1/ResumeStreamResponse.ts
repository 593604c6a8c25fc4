// Original file: ../../proto/genai/chat/v1/chat.proto

import type { StartEvent as _genai_chat_v1_StartEvent, StartEvent__Output as _genai_chat_v1_StartEvent__Output } from '../../../genai/chat/v1/StartEvent.ts';
import type { DeltaEvent as _genai_chat_v1_DeltaEvent, DeltaEvent__Output as _genai_chat_v1_DeltaEvent__Output } from '../../../genai/chat/v1/DeltaEvent.ts';
import type { DoneEvent as _genai_chat_v1_DoneEvent, DoneEvent__Output as _genai_chat_v1_DoneEvent__Output } from '../../../genai/chat/v1/DoneEvent.ts';
import type { ErrorEvent as _genai_chat_v1_ErrorEvent, ErrorEvent__Output as _genai_chat_v1_ErrorEvent__Output } from '../../../genai/chat/v1/ErrorEvent.ts';
import type { ResetEvent as _genai_chat_v1_ResetEvent, ResetEvent__Output as _genai_chat_v1_ResetEvent__Output } from '../../../genai/chat/v1/ResetEvent.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One event of a reply read from the log: StreamMessageResponse's events (the same field
 * numbers, the same bytes) or a `reset`, each with its place in the log.
 */
export interface ResumeStreamResponse {
  /**
   * type "start".
   */
  'start'?: (_genai_chat_v1_StartEvent | null);
  /**
   * type "delta".
   */
  'delta'?: (_genai_chat_v1_DeltaEvent | null);
  /**
   * type "done": the reply ended; the call ends.
   */
  'done'?: (_genai_chat_v1_DoneEvent | null);
  /**
   * type "error": the reply failed; the call ends.
   */
  'error'?: (_genai_chat_v1_ErrorEvent | null);
  /**
   * The event's place in the session's reply log: the next call's `after`.
   */
  'seq'?: (number | string | Long);
  /**
   * The log cannot give the reply from `after` (first, when it comes).
   */
  'reset'?: (_genai_chat_v1_ResetEvent | null);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error"|"reset";
}

/**
 * One event of a reply read from the log: StreamMessageResponse's events (the same field
 * numbers, the same bytes) or a `reset`, each with its place in the log.
 */
export interface ResumeStreamResponse__Output {
  /**
   * type "start".
   */
  'start'?: (_genai_chat_v1_StartEvent__Output | null);
  /**
   * type "delta".
   */
  'delta'?: (_genai_chat_v1_DeltaEvent__Output | null);
  /**
   * type "done": the reply ended; the call ends.
   */
  'done'?: (_genai_chat_v1_DoneEvent__Output | null);
  /**
   * type "error": the reply failed; the call ends.
   */
  'error'?: (_genai_chat_v1_ErrorEvent__Output | null);
  /**
   * The event's place in the session's reply log: the next call's `after`.
   */
  'seq': (string);
  /**
   * The log cannot give the reply from `after` (first, when it comes).
   */
  'reset'?: (_genai_chat_v1_ResetEvent__Output | null);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error"|"reset";
}
