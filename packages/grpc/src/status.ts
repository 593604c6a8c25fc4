/**
 * Errors on the wire: a ChatError travels as a gRPC status code and message, with its exact
 * code (`session_not_found`, …) and retry delay in the trailers — a google.rpc.Status with
 * ErrorInfo and RetryInfo in `grpc-status-details-bin` (src/error-details.ts), plus the plain
 * `chat-error-code` trailer for tools that read no details — and comes back as the same ChatError.
 */
import * as grpc from '@grpc/grpc-js';
import { ChatError, ERROR_HTTP_STATUS, type ErrorCode, GRPC_STATUS } from '@gtp/core';
import { decodeStatusDetails, encodeStatusDetails, STATUS_DETAILS_METADATA_KEY } from './error-details.ts';

/** Trailing-metadata key carrying the contract's error code (`session_not_found`, …). */
export const ERROR_CODE_METADATA_KEY = 'chat-error-code';

/** A ChatError as the `ServiceError` a handler gives its callback or emits on its stream. */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  const chatError = ChatError.from(error);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, chatError.code);
  metadata.set(STATUS_DETAILS_METADATA_KEY, encodeStatusDetails(chatError));
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
  const bin = status.metadata?.get(STATUS_DETAILS_METADATA_KEY)[0];
  const rich = bin instanceof Buffer ? decodeStatusDetails(bin) : {};
  const plain = status.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const sent = rich.code ?? (typeof plain === 'string' && plain in ERROR_HTTP_STATUS ? plain : undefined);
  const code = (sent as ErrorCode | undefined) ?? CODE_BY_STATUS[status.code];
  const details = status.details || grpc.status[status.code] || 'unknown error';
  if (status.code === GRPC_STATUS.UNAVAILABLE && !sent) {
    return new ChatError('unavailable', `cannot reach ${target}: ${details} (is the server running?)`, {
      cause: error,
    });
  }
  return new ChatError(code ?? 'internal', details, {
    cause: error,
    ...(rich.retryAfterSeconds !== undefined ? { retryAfterSeconds: rich.retryAfterSeconds } : {}),
  });
}
