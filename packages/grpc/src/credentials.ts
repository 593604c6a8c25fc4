/**
 * TLS for gRPC, one place for both ends. With TLS_CERT_FILE + TLS_KEY_FILE the server binds with
 * `ServerCredentials.createSsl` (the certificate chain and key core read and checked at start-up);
 * a client given a CA (`--ca`, TLS_CA_FILE) opens its channel with `credentials.createSsl(ca)`, and
 * grpc-js then checks the server's certificate against the target's host name (127.0.0.1 must be
 * in its subjectAltName) as well as against the CA. Without them: plaintext h2c, as on loopback.
 */
import * as grpc from '@grpc/grpc-js';
import type { ServerTls } from '@gtp/core';

export function serverCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  // No client certificates asked for (checkClientCertificate false): callers prove who they are
  // with a token or JWT in the metadata, the same access check as the HTTP servers.
  return grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false);
}

/** `ca`: the CA to trust (PEM); `true`: TLS with the system's CAs; undefined: plaintext. */
export function channelCredentials(ca: Buffer | true | undefined): grpc.ChannelCredentials {
  if (ca === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(ca === true ? null : ca);
}
