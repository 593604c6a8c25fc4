/**
 * Errors on the wire: a ChatError travels as a gRPC status code and details, with its exact
 * code (`session_not_found`, …) in the trailers, and comes back as the same ChatError.
 */
import * as grpc from '@grpc/grpc-js';
import { ChatError, ERROR_HTTP_STATUS, type ErrorCode, GRPC_STATUS } from '@gtp/core';

/** Trailing-metadata key carrying the contract's error code (`session_not_found`, …). */
export const ERROR_CODE_METADATA_KEY = 'chat-error-code';

/** A ChatError as the `ServiceError` a handler gives its callback or emits on its stream. */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  const chatError = ChatError.from(error);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, chatError.code);
  return { code: chatError.grpcStatus, details: chatError.message, metadata };
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [GRPC_STATUS.INVALID_ARGUMENT]: 'invalid_request',
  [GRPC_STATUS.UNAUTHENTICATED]: 'unauthorized',
  [GRPC_STATUS.PERMISSION_DENIED]: 'forbidden',
  [GRPC_STATUS.NOT_FOUND]: 'session_not_found',
  [GRPC_STATUS.FAILED_PRECONDITION]: 'session_busy',
  [GRPC_STATUS.RESOURCE_EXHAUSTED]: 'payload_too_large',
  [GRPC_STATUS.UNAVAILABLE]: 'unavailable',
  [GRPC_STATUS.DEADLINE_EXCEEDED]: 'unavailable',
};

/** A failed call's status as a ChatError: the code from the trailers, else from the status. */
export function fromServiceError(error: unknown, target: string): ChatError {
  const status = error as Partial<grpc.ServiceError>;
  if (typeof status.code !== 'number') return ChatError.from(error);
  const sent = status.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const code =
    typeof sent === 'string' && sent in ERROR_HTTP_STATUS ? (sent as ErrorCode) : CODE_BY_STATUS[status.code];
  const details = status.details || grpc.status[status.code] || 'unknown error';
  if (status.code === GRPC_STATUS.UNAVAILABLE && !sent) {
    return new ChatError('unavailable', `cannot reach ${target}: ${details} (is the server running?)`, {
      cause: error,
    });
  }
  return new ChatError(code ?? 'internal', details, { cause: error });
}
