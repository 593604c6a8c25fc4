// Original file: ../../proto/genai/chat/v1/chat.proto

import type { StartEvent as _genai_chat_v1_StartEvent, StartEvent__Output as _genai_chat_v1_StartEvent__Output } from '../../../genai/chat/v1/StartEvent.ts';
import type { DeltaEvent as _genai_chat_v1_DeltaEvent, DeltaEvent__Output as _genai_chat_v1_DeltaEvent__Output } from '../../../genai/chat/v1/DeltaEvent.ts';
import type { DoneEvent as _genai_chat_v1_DoneEvent, DoneEvent__Output as _genai_chat_v1_DoneEvent__Output } from '../../../genai/chat/v1/DoneEvent.ts';
import type { ErrorEvent as _genai_chat_v1_ErrorEvent, ErrorEvent__Output as _genai_chat_v1_ErrorEvent__Output } from '../../../genai/chat/v1/ErrorEvent.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One event of a reply, as StreamMessage sends it. Exactly one field of `event` is set, and
 * its name is the JSON contract's `type`: start, delta, done or error.
 */
export interface StreamMessageResponse {
  /**
   * type "start": always first.
   */
  'start'?: (_genai_chat_v1_StartEvent | null);
  /**
   * type "delta": zero or more pieces of text.
   */
  'delta'?: (_genai_chat_v1_DeltaEvent | null);
  /**
   * type "done": the end of a reply that did not fail.
   */
  'done'?: (_genai_chat_v1_DoneEvent | null);
  /**
   * type "error": the end of a reply that failed.
   */
  'error'?: (_genai_chat_v1_ErrorEvent | null);
  /**
   * The event's place in the session's reply log (1, 2, 3…): ResumeStream's `after`.
   * 0 when the reply does not run through the log.
   */
  'seq'?: (number | string | Long);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error";
}

/**
 * One event of a reply, as StreamMessage sends it. Exactly one field of `event` is set, and
 * its name is the JSON contract's `type`: start, delta, done or error.
 */
export interface StreamMessageResponse__Output {
  /**
   * type "start": always first.
   */
  'start'?: (_genai_chat_v1_StartEvent__Output | null);
  /**
   * type "delta": zero or more pieces of text.
   */
  'delta'?: (_genai_chat_v1_DeltaEvent__Output | null);
  /**
   * type "done": the end of a reply that did not fail.
   */
  'done'?: (_genai_chat_v1_DoneEvent__Output | null);
  /**
   * type "error": the end of a reply that failed.
   */
  'error'?: (_genai_chat_v1_ErrorEvent__Output | null);
  /**
   * The event's place in the session's reply log (1, 2, 3…): ResumeStream's `after`.
   * 0 when the reply does not run through the log.
   */
  'seq': (string);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error";
}
