// Original file: ../../proto/genai/chat/v1/chat.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Payload bytes.
 */
export interface ByteCounts {
  /**
   * Sent to clients.
   */
  'sent'?: (number | string | Long);
  /**
   * Received from clients.
   */
  'received'?: (number | string | Long);
}

/**
 * Payload bytes.
 */
export interface ByteCounts__Output {
  /**
   * Sent to clients.
   */
  'sent': (string);
  /**
   * Received from clients.
   */
  'received': (string);
}
