import { z } from 'zod';
import type { ErrorBody } from './errors.ts';

/** One message of a conversation. The model's turn is marked `interrupted` when it was cancelled. */
export const MessageSchema = z.object({
  role: z.enum(['user', 'model']),
  text: z.string(),
  interrupted: z.boolean().optional(),
});
export type Message = z.infer<typeof MessageSchema>;

export const ModelInfoSchema = z.object({
  provider: z.enum(['gemini', 'simulated']),
  id: z.string(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const SessionSchema = z.object({
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  messageCount: z.number().int().nonnegative(),
  model: ModelInfoSchema,
});
export type Session = z.infer<typeof SessionSchema>;

export type FinishReason = 'stop' | 'cancelled' | 'max_tokens';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Timings {
  ttftMs: number;
  totalMs: number;
}

export interface StartEvent {
  type: 'start';
  sessionId: string;
  messageId: string;
}
export interface DeltaEvent {
  type: 'delta';
  messageId: string;
  index: number;
  text: string;
}
export interface DoneEvent {
  type: 'done';
  messageId: string;
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
}
export interface ErrorEvent {
  type: 'error';
  messageId?: string;
  error: ErrorBody;
}

/** What `ChatService.reply` yields and every transport serialises (DESIGN.md, "ChatEvent"). */
export type ChatEvent = StartEvent | DeltaEvent | DoneEvent | ErrorEvent;

/** The complete answer REST returns, and what any client can fold a stream into. */
export interface ChatReply {
  messageId: string;
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
}
