import { ZodError } from 'zod';
import type { ErrorBody } from './events.ts';

/** The `{code, message}` of an error on the wire: its schema is in events.ts, with the wire contract. */
export type { ErrorBody };

/** Every error code on the wire, with its HTTP status (DESIGN.md, "Wire contract"). */
export const ERROR_HTTP_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  session_not_found: 404,
  session_busy: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  model_error: 502,
  unavailable: 503,
  shutting_down: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

/**
 * gRPC status numbers (google.rpc.Code). Kept here as plain numbers so that core does not
 * depend on @grpc/grpc-js; they are the values of grpc-js's `status` enum.
 */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const ERROR_GRPC_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: GRPC_STATUS.INVALID_ARGUMENT,
  unauthorized: GRPC_STATUS.UNAUTHENTICATED,
  forbidden: GRPC_STATUS.PERMISSION_DENIED,
  not_found: GRPC_STATUS.NOT_FOUND,
  session_not_found: GRPC_STATUS.NOT_FOUND,
  session_busy: GRPC_STATUS.FAILED_PRECONDITION,
  payload_too_large: GRPC_STATUS.RESOURCE_EXHAUSTED,
  rate_limited: GRPC_STATUS.RESOURCE_EXHAUSTED,
  internal: GRPC_STATUS.INTERNAL,
  // Not UNAVAILABLE: that one tells clients to retry, and a rejected key or request stays rejected.
  model_error: GRPC_STATUS.INTERNAL,
  unavailable: GRPC_STATUS.UNAVAILABLE,
  shutting_down: GRPC_STATUS.UNAVAILABLE,
};

/**
 * The one error type of the project. Every layer throws it; every transport maps it once:
 * `httpStatus` for HTTP, `grpcStatus` for gRPC, `toJSON()` for an error event or body.
 */
export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly code: ErrorCode;
  /** Seconds the caller should wait before retrying (quota errors), when known. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  get grpcStatus(): number {
    return ERROR_GRPC_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
    };
  }

  /** An error body received from the wire (an `error` event or response) as a ChatError again. */
  static fromBody(body: ErrorBody): ChatError {
    return new ChatError(body.code, body.message, {
      ...(body.retryAfterSeconds !== undefined ? { retryAfterSeconds: body.retryAfterSeconds } : {}),
    });
  }

  /** Any thrown value as a ChatError; unknown failures become `internal` without leaking details. */
  static from(error: unknown): ChatError {
    if (error instanceof ChatError) return error;
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return new ChatError('invalid_request', `${where}${issue?.message ?? 'invalid request'}`, {
        cause: error,
      });
    }
    if (isAbortError(error)) return new ChatError('internal', 'the operation was aborted', { cause: error });
    return new ChatError('internal', 'internal error', { cause: error });
  }

  static sessionNotFound(id: string): ChatError {
    // The id is the client's text: cut, so a 100 KB id never becomes a 100 KB grpc-message.
    const shown = id.length > 64 ? `${id.slice(0, 64)}…` : id;
    return new ChatError('session_not_found', `session ${shown} does not exist`);
  }
}

/**
 * The reason to abort a reply with (a cancel, a client gone, shutdown): an AbortError, as
 * `AbortController.abort()` gives by default, so it reads as an abort and not as a failure.
 */
export function abortReason(message: string): DOMException {
  return new DOMException(message, 'AbortError');
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
