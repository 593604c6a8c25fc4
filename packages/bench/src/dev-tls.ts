/**
 * TLS for the measurements (`pnpm compare --tls`, the matrix's `turns-tls/*` scenarios): one
 * development CA and certificate for 127.0.0.1 per process, made with openssl in a temporary
 * directory (core's makeDevCertificate, the same as `pnpm cert`), and the CA the clients trust.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerTls, type ServerTls } from '@gtp/core';
import { makeDevCertificate } from '@gtp/core/testing';

export interface BenchTls {
  /** For the servers' Config (`tls`). */
  server: ServerTls;
  /** For the clients (AdapterOptions `ca`). */
  ca: Buffer;
}

let made: BenchTls | undefined;

export function benchTls(): BenchTls {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'gtp-bench-tls-'));
  try {
    const files = makeDevCertificate(dir);
    made = { server: readServerTls(files.certFile, files.keyFile), ca: readFileSync(files.caFile) };
    return made;
  } finally {
    // Read into memory: the files are not needed any more.
    rmSync(dir, { recursive: true, force: true });
  }
}
