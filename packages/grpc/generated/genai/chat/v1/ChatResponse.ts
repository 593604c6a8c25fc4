// Original file: ../../proto/genai/chat/v1/chat.proto

import type { StartEvent as _genai_chat_v1_StartEvent, StartEvent__Output as _genai_chat_v1_StartEvent__Output } from '../../../genai/chat/v1/StartEvent.ts';
import type { DeltaEvent as _genai_chat_v1_DeltaEvent, DeltaEvent__Output as _genai_chat_v1_DeltaEvent__Output } from '../../../genai/chat/v1/DeltaEvent.ts';
import type { DoneEvent as _genai_chat_v1_DoneEvent, DoneEvent__Output as _genai_chat_v1_DoneEvent__Output } from '../../../genai/chat/v1/DoneEvent.ts';
import type { ErrorEvent as _genai_chat_v1_ErrorEvent, ErrorEvent__Output as _genai_chat_v1_ErrorEvent__Output } from '../../../genai/chat/v1/ErrorEvent.ts';
import type { Pong as _genai_chat_v1_Pong, Pong__Output as _genai_chat_v1_Pong__Output } from '../../../genai/chat/v1/Pong.ts';
import type { TypingEvent as _genai_chat_v1_TypingEvent, TypingEvent__Output as _genai_chat_v1_TypingEvent__Output } from '../../../genai/chat/v1/TypingEvent.ts';

/**
 * What the server sends on the Chat stream. Exactly one field of `event` is set. Fields 1–4
 * are StreamMessageResponse's, with the same numbers, so they are the same bytes on the wire.
 */
export interface ChatResponse {
  /**
   * A reply has begun.
   */
  'start'?: (_genai_chat_v1_StartEvent | null);
  /**
   * The next piece of a reply.
   */
  'delta'?: (_genai_chat_v1_DeltaEvent | null);
  /**
   * A reply has ended.
   */
  'done'?: (_genai_chat_v1_DoneEvent | null);
  /**
   * A reply failed, or a client event was refused.
   */
  'error'?: (_genai_chat_v1_ErrorEvent | null);
  /**
   * The answer to a ping.
   */
  'pong'?: (_genai_chat_v1_Pong | null);
  /**
   * Another Chat stream in one of this stream's sessions is typing.
   */
  'typing'?: (_genai_chat_v1_TypingEvent | null);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error"|"pong"|"typing";
}

/**
 * What the server sends on the Chat stream. Exactly one field of `event` is set. Fields 1–4
 * are StreamMessageResponse's, with the same numbers, so they are the same bytes on the wire.
 */
export interface ChatResponse__Output {
  /**
   * A reply has begun.
   */
  'start'?: (_genai_chat_v1_StartEvent__Output | null);
  /**
   * The next piece of a reply.
   */
  'delta'?: (_genai_chat_v1_DeltaEvent__Output | null);
  /**
   * A reply has ended.
   */
  'done'?: (_genai_chat_v1_DoneEvent__Output | null);
  /**
   * A reply failed, or a client event was refused.
   */
  'error'?: (_genai_chat_v1_ErrorEvent__Output | null);
  /**
   * The answer to a ping.
   */
  'pong'?: (_genai_chat_v1_Pong__Output | null);
  /**
   * Another Chat stream in one of this stream's sessions is typing.
   */
  'typing'?: (_genai_chat_v1_TypingEvent__Output | null);
  /**
   * The event.
   */
  'event'?: "start"|"delta"|"done"|"error"|"pong"|"typing";
}
