// Original file: ../../proto/genai/chat/v1/chat.proto

import type { SendCommand as _genai_chat_v1_SendCommand, SendCommand__Output as _genai_chat_v1_SendCommand__Output } from '../../../genai/chat/v1/SendCommand.ts';
import type { CancelCommand as _genai_chat_v1_CancelCommand, CancelCommand__Output as _genai_chat_v1_CancelCommand__Output } from '../../../genai/chat/v1/CancelCommand.ts';
import type { TypingEvent as _genai_chat_v1_TypingEvent, TypingEvent__Output as _genai_chat_v1_TypingEvent__Output } from '../../../genai/chat/v1/TypingEvent.ts';
import type { Ping as _genai_chat_v1_Ping, Ping__Output as _genai_chat_v1_Ping__Output } from '../../../genai/chat/v1/Ping.ts';

/**
 * What a client sends on the Chat stream. Exactly one field of `event` is set.
 */
export interface ChatRequest {
  /**
   * Send a message.
   */
  'send'?: (_genai_chat_v1_SendCommand | null);
  /**
   * Cancel a running reply.
   */
  'cancel'?: (_genai_chat_v1_CancelCommand | null);
  /**
   * Typing started or stopped.
   */
  'typing'?: (_genai_chat_v1_TypingEvent | null);
  /**
   * A ping; answered with a pong.
   */
  'ping'?: (_genai_chat_v1_Ping | null);
  /**
   * The event.
   */
  'event'?: "send"|"cancel"|"typing"|"ping";
}

/**
 * What a client sends on the Chat stream. Exactly one field of `event` is set.
 */
export interface ChatRequest__Output {
  /**
   * Send a message.
   */
  'send'?: (_genai_chat_v1_SendCommand__Output | null);
  /**
   * Cancel a running reply.
   */
  'cancel'?: (_genai_chat_v1_CancelCommand__Output | null);
  /**
   * Typing started or stopped.
   */
  'typing'?: (_genai_chat_v1_TypingEvent__Output | null);
  /**
   * A ping; answered with a pong.
   */
  'ping'?: (_genai_chat_v1_Ping__Output | null);
  /**
   * The event.
   */
  'event'?: "send"|"cancel"|"typing"|"ping";
}
