/**
 * TLS files, read and checked once at start-up. `TLS_CERT_FILE` + `TLS_KEY_FILE` turn TLS on for
 * every server (HTTPS with HTTP/2 on the four HTTP ones, `createSsl` on gRPC); `TLS_CA_FILE` (or a
 * client's `--ca`) is the certificate authority a client trusts besides the system's.
 *
 * Each file is loaded into a `tls.createSecureContext` on its own first, so an error names the
 * file that is wrong (missing, not PEM, not a certificate / not a key), then the pair together,
 * so a key that does not belong to the certificate is said as such instead of failing the first
 * handshake.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config.ts';

/** The server's certificate chain and private key, PEM, as read at start-up. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

/** Read `TLS_CERT_FILE` and `TLS_KEY_FILE`; throws ConfigError naming the file that is wrong. */
export function readServerTls(certFile: string, keyFile: string): ServerTls {
  const cert = readPem('TLS_CERT_FILE', certFile);
  const key = readPem('TLS_KEY_FILE', keyFile);
  check('TLS_CERT_FILE', certFile, () => createSecureContext({ cert }), 'a PEM certificate (chain)');
  check('TLS_KEY_FILE', keyFile, () => createSecureContext({ key }), 'a PEM private key (unencrypted)');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      `TLS_KEY_FILE=${keyFile} is not the private key of TLS_CERT_FILE=${certFile} (${reason(error)})`,
    );
  }
  return { cert, key, certFile, keyFile };
}

/** Read a CA certificate file (`TLS_CA_FILE`, `--ca`); throws ConfigError naming it when wrong. */
export function readCaFile(caFile: string, name = 'TLS_CA_FILE'): Buffer {
  const ca = readPem(name, caFile);
  check(name, caFile, () => createSecureContext({ ca }), 'a PEM CA certificate');
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${name}=${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return ca;
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : reason(error);
    const hint =
      name.startsWith('TLS_') && name !== 'TLS_CA_FILE'
        ? ' (pnpm cert makes a development pair in certs/)'
        : '';
    throw new ConfigError(`${name}=${file}: ${why}${hint}`);
  }
}

function check(name: string, file: string, load: () => unknown, expected: string): void {
  try {
    load();
  } catch (error) {
    throw new ConfigError(`${name}=${file} is not ${expected} (${reason(error)})`);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Fastify's server options for TLS: HTTP/2 (`http2.createSecureServer`) with `allowHTTP1`, so
 * ALPN picks h2 for browsers and HTTP/2 clients and http/1.1 for the others — a WebSocket upgrade
 * among them (RFC 8441, WebSocket over HTTP/2, is not supported by `ws`). `{}` without TLS.
 *
 * Typed `object` on purpose: the request/reply objects are then node:http2's compatibility API
 * (Http2ServerRequest/Response), which offers the same methods the servers use (writeHead, write,
 * end, setHeader, socket), so the app keeps one type for both.
 */
export function fastifyTlsOptions(tls: ServerTls | undefined): object {
  if (!tls) return {};
  return { http2: true, https: { allowHTTP1: true, key: tls.key, cert: tls.cert } };
}
