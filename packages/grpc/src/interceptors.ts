/**
 * The server interceptor: every call of every service (ChatService, reflection, health), whatever
 * its shape (unary, server streaming, bidi), passes the shared access check of @gtp/core before
 * any handler runs: the per-address rate limit (RATE_LIMIT_MAX), the Origin and AUTH_TOKEN. The
 * rules live once in core (`createAccessCheck`); this file only maps a call to an AccessRequest
 * and a refusal to the call's status: RESOURCE_EXHAUSTED, PERMISSION_DENIED or UNAUTHENTICATED,
 * with the error code in the trailers (chat-error-code) like every other failure of ours.
 *
 * The check is async. grpc-js lets an interceptor take its time in `onReceiveMetadata`: the
 * messages and the half-close that arrive meanwhile are held back until `next` is called, and a
 * refused call never reaches its handler.
 *
 * Reflection is guarded too (it tells whoever asks what the API is; grpcurl sends the token with
 * `-H 'authorization: Bearer …'`); grpc.health.v1 is a probe: no token, no rate limit.
 */
import * as grpc from '@grpc/grpc-js';
import { type Access, type AccessCheck, ChatError, type Logger, type Stats } from '@gtp/core';
import { HEALTH_PATH_PREFIX } from './health.ts';
import { peerAddress } from './peer.ts';
import { toServiceError } from './status.ts';

/**
 * The Access of each admitted call, by the Metadata object grpc-js hands its handler as
 * `call.metadata`. Kept out of the metadata itself, so no client can send a principal.
 */
const accessByMetadata = new WeakMap<grpc.Metadata, Access>();

/** Who made this call (principal, client address): for handlers, after the interceptor passed it. */
export function accessOf(call: { readonly metadata: grpc.Metadata }): Access {
  const access = accessByMetadata.get(call.metadata);
  if (!access) throw new ChatError('internal', 'the call did not pass the access interceptor');
  return access;
}

export interface AccessInterceptorOptions {
  access: AccessCheck;
  /** Each refusal is counted by its error code, like every other failure. */
  stats: Pick<Stats, 'recordError'>;
  logger: Logger;
  /**
   * Calls open at once from one TCP peer address, every service (Health/Watch included); past it
   * a call ends at once with RESOURCE_EXHAUSTED. Undefined: unbounded.
   */
  maxCallsPerAddress?: number;
}

/** The one interceptor of the server: admit the call with its Access, or end it with a status. */
export function accessInterceptor({
  access,
  stats,
  logger,
  maxCallsPerAddress,
}: AccessInterceptorOptions): grpc.ServerInterceptor {
  /** Calls open now, per peer address (an entry is dropped when its count is back to 0). */
  const open = new Map<string, number>();
  return (method, call) => {
    let counted: string | undefined;
    const release = () => {
      if (counted === undefined) return;
      const left = (open.get(counted) ?? 1) - 1;
      if (left > 0) open.set(counted, left);
      else open.delete(counted);
      counted = undefined;
    };
    const refuse = (failure: ChatError, peer: string, error?: unknown) => {
      stats.recordError(failure.code);
      const fields = { method: method.path, peer, code: failure.code };
      if (failure.code === 'internal') logger.error({ ...fields, err: error }, 'access check failed');
      else logger.info(fields, `call refused: ${failure.message}`);
      const status = toServiceError(failure);
      call.sendStatus({
        code: status.code ?? grpc.status.UNKNOWN,
        details: failure.message,
        ...(status.metadata ? { metadata: status.metadata } : {}),
      });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onCancel: release,
          onReceiveMetadata: (metadata, nextMetadata) => {
            const peer = peerAddress(call.getPeer());
            const calls = open.get(peer) ?? 0;
            if (maxCallsPerAddress !== undefined && calls >= maxCallsPerAddress) {
              refuse(
                new ChatError(
                  'rate_limited',
                  `more than ${maxCallsPerAddress} calls open at once from this address; close some first`,
                ),
                peer,
              );
              return;
            }
            open.set(peer, calls + 1);
            counted = peer;
            access
              .check({
                transport: 'grpc',
                headers: headersOf(metadata, call.getHost()),
                url: method.path,
                peer,
                probe: method.path.startsWith(HEALTH_PATH_PREFIX),
              })
              .then(
                (admitted) => {
                  accessByMetadata.set(metadata, admitted);
                  nextMetadata(metadata);
                },
                (error: unknown) => {
                  // The handler never runs: the call ends here with the refusal's status code.
                  release();
                  refuse(ChatError.from(error), peer, error);
                },
              );
          },
        }),
      sendStatus: (status, next) => {
        release();
        next(status);
      },
    });
  };
}

/**
 * Metadata as the plain header object the access check reads (grpc-js keeps keys lower case),
 * with the `:authority` pseudo-header (the HTTP/2 Host, which grpc-js keeps out of the metadata).
 */
function headersOf(metadata: grpc.Metadata, authority: string): Record<string, string[]> {
  const headers: Record<string, string[]> = { ':authority': [authority] };
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (!key.endsWith('-bin')) headers[key] = values.map(String);
  }
  return headers;
}
