// Original file: ../../proto/genai/chat/v1/chat.proto

import type { ModelInfo as _genai_chat_v1_ModelInfo, ModelInfo__Output as _genai_chat_v1_ModelInfo__Output } from '../../../genai/chat/v1/ModelInfo.ts';

/**
 * A conversation. Timestamps are RFC 3339 strings, the same text the HTTP servers send.
 */
export interface Session {
  /**
   * A UUID chosen by the server.
   */
  'id'?: (string);
  /**
   * When the session was created, e.g. "2025-01-31T12:00:00.000Z".
   */
  'createdAt'?: (string);
  /**
   * When the session last changed (a turn added, the history cleared).
   */
  'updatedAt'?: (string);
  /**
   * How many messages the history holds (user and model turns).
   */
  'messageCount'?: (number);
  /**
   * The model that answers in this session.
   */
  'model'?: (_genai_chat_v1_ModelInfo | null);
}

/**
 * A conversation. Timestamps are RFC 3339 strings, the same text the HTTP servers send.
 */
export interface Session__Output {
  /**
   * A UUID chosen by the server.
   */
  'id': (string);
  /**
   * When the session was created, e.g. "2025-01-31T12:00:00.000Z".
   */
  'createdAt': (string);
  /**
   * When the session last changed (a turn added, the history cleared).
   */
  'updatedAt': (string);
  /**
   * How many messages the history holds (user and model turns).
   */
  'messageCount': (number);
  /**
   * The model that answers in this session.
   */
  'model': (_genai_chat_v1_ModelInfo__Output | null);
}
