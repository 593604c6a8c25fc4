/**
 * Reading client frames: a `ws` message (text or binary, one buffer or fragments) becomes a
 * validated ClientFrame, or a ChatError that tells the client what is wrong with it.
 */
import { ChatError } from '@gtp/core';
import type { RawData } from 'ws';
import { type ClientFrame, ClientFrameSchema } from './protocol.ts';

const FRAME_TYPES = ClientFrameSchema.options.map((option) => option.shape.type.value);

/** A text frame as a validated ClientFrame, or a ChatError (`invalid_request`) that says why not. */
export function parseFrame(data: RawData, isBinary: boolean): ClientFrame {
  if (isBinary)
    throw new ChatError('invalid_request', 'binary frames are not accepted; send JSON text frames');
  let json: unknown;
  try {
    json = JSON.parse(rawToString(data));
  } catch (error) {
    throw new ChatError(
      'invalid_request',
      `malformed JSON: ${error instanceof Error ? error.message : 'cannot parse'}`,
    );
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof type !== 'string') {
    throw new ChatError('invalid_request', 'a frame is a JSON object with a string "type"');
  }
  if (!FRAME_TYPES.includes(type as ClientFrame['type'])) {
    throw new ChatError(
      'invalid_request',
      `unknown frame type "${type}"; expected one of ${FRAME_TYPES.join(', ')}`,
    );
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) throw ChatError.from(parsed.error);
  return parsed.data;
}

/**
 * The error code a `ws` protocol error counts as: an over-size frame (which `ws` closes with
 * 1009) is `payload_too_large`; anything else (invalid UTF-8: 1007, a bad opcode) `invalid_request`.
 */
export function protocolErrorCode(error: Error): 'payload_too_large' | 'invalid_request' {
  return 'code' in error && error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
    ? 'payload_too_large'
    : 'invalid_request';
}

/** The size of a received message in bytes, for the stats. */
export function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data.byteLength;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
