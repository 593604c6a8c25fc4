// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Role as _genai_chat_v1_Role, Role__Output as _genai_chat_v1_Role__Output } from '../../../genai/chat/v1/Role.ts';

/**
 * One message of the conversation.
 */
export interface Message {
  /**
   * Who said it.
   */
  'role'?: (_genai_chat_v1_Role);
  /**
   * What was said.
   */
  'text'?: (string);
  /**
   * True for a model turn that was cancelled part way: `text` is what it had said so far.
   */
  'interrupted'?: (boolean);
}

/**
 * One message of the conversation.
 */
export interface Message__Output {
  /**
   * Who said it.
   */
  'role': (_genai_chat_v1_Role__Output);
  /**
   * What was said.
   */
  'text': (string);
  /**
   * True for a model turn that was cancelled part way: `text` is what it had said so far.
   */
  'interrupted': (boolean);
}
