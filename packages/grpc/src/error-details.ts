/**
 * The standard rich error model of gRPC: a `google.rpc.Status` with typed details, serialised
 * into the `grpc-status-details-bin` trailer. A ChatError carries two details:
 * - `google.rpc.ErrorInfo`: domain "genai-transports", reason the contract's code in capitals
 *   (SESSION_NOT_FOUND, the form ErrorInfo asks for), metadata.code the code as is;
 * - `google.rpc.RetryInfo` when the caller should wait (rate_limited): retry_delay, whole seconds.
 * @grpc/grpc-js has no helper for it, so the Status is encoded with protobuf-es (the same runtime
 * the gRPC-Web/Connect server uses, which writes these details itself) from the vendored
 * proto/google/rpc files. Any gRPC client reads it: grpc-js below, Python's grpc_status, grpcurl.
 */
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { anyIs, anyPack, anyUnpack, type DurationSchema } from '@bufbuild/protobuf/wkt';
import { type ChatError, ERROR_HTTP_STATUS, type ErrorCode } from '@gtp/core';
import { ErrorInfoSchema, RetryInfoSchema } from '../generated/es/google/rpc/error_details_pb.js';
import { StatusSchema } from '../generated/es/google/rpc/status_pb.js';

/** The trailer that carries the serialised google.rpc.Status (binary: the `-bin` suffix). */
export const STATUS_DETAILS_METADATA_KEY = 'grpc-status-details-bin';
/** ErrorInfo.domain of every error this service sends. */
export const ERROR_DOMAIN = 'genai-transports';

/** ErrorInfo and RetryInfo of a ChatError: what both servers (grpc-js, Connect) attach. */
export function errorDetails(error: ChatError) {
  const info = {
    desc: ErrorInfoSchema,
    value: { reason: error.code.toUpperCase(), domain: ERROR_DOMAIN, metadata: { code: error.code } },
  } as const;
  if (error.retryAfterSeconds === undefined) return [info];
  const retryDelay: MessageInitShape<typeof DurationSchema> = {
    seconds: BigInt(Math.ceil(error.retryAfterSeconds)),
  };
  return [info, { desc: RetryInfoSchema, value: { retryDelay } } as const];
}

/** A ChatError as the bytes of `grpc-status-details-bin`: google.rpc.Status {code, message, details}. */
export function encodeStatusDetails(error: ChatError): Buffer {
  const status = create(StatusSchema, {
    code: error.grpcStatus,
    message: error.message,
    details: errorDetails(error).map(({ desc, value }) =>
      // biome-ignore lint/suspicious/noExplicitAny: the two descriptors' value shapes differ
      anyPack(desc as any, create(desc as any, value as any)),
    ),
  });
  return Buffer.from(toBinary(StatusSchema, status));
}

/** What a client reads back from the trailer: the code (ErrorInfo) and the retry delay (RetryInfo). */
export interface DecodedStatusDetails {
  code?: ErrorCode;
  retryAfterSeconds?: number;
}

/** The trailer's bytes decoded; fields it does not carry are left out. Bad bytes: nothing. */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatusDetails {
  let status: ReturnType<typeof fromBinary<typeof StatusSchema>>;
  try {
    status = fromBinary(StatusSchema, bytes);
  } catch {
    return {};
  }
  const decoded: DecodedStatusDetails = {};
  for (const any of status.details) {
    if (anyIs(any, ErrorInfoSchema)) {
      const info = anyUnpack(any, ErrorInfoSchema);
      const code = info?.metadata.code ?? info?.reason.toLowerCase();
      if (info?.domain === ERROR_DOMAIN && code && code in ERROR_HTTP_STATUS)
        decoded.code = code as ErrorCode;
    } else if (anyIs(any, RetryInfoSchema)) {
      const delay = anyUnpack(any, RetryInfoSchema)?.retryDelay;
      if (delay) decoded.retryAfterSeconds = Number(delay.seconds) + delay.nanos / 1e9;
    }
  }
  return decoded;
}
