/**
 * TLS files are checked when the configuration loads: a missing file, a file that is not PEM,
 * a key that is not the certificate's, or only one of the pair each fail start-up with a message
 * naming the variable and the file.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientArgs } from '../src/cli/index.ts';
import { ConfigError, loadConfig, readCaFile } from '../src/index.ts';
import { type DevCertificate, makeDevCertificate, OPENSSL_PATH } from '../src/testing/index.ts';

describe.skipIf(!existsSync(OPENSSL_PATH))('TLS_CERT_FILE / TLS_KEY_FILE at start-up', () => {
  let dir: string;
  let a: DevCertificate;
  let b: DevCertificate;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-tls-config-'));
    a = makeDevCertificate(join(dir, 'a'));
    b = makeDevCertificate(join(dir, 'b'));
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
    copyFileSync(a.keyFile, join(dir, 'key-as-cert.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (cert: string, key: string) => () => loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });

  it('a matching pair loads; no pair is plaintext', () => {
    const { tls } = loadConfig({ TLS_CERT_FILE: a.certFile, TLS_KEY_FILE: a.keyFile });
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls?.key.toString()).toContain('PRIVATE KEY');
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('one without the other is refused', () => {
    expect(() => loadConfig({ TLS_CERT_FILE: a.certFile })).toThrow(
      /TLS_CERT_FILE and TLS_KEY_FILE go together/,
    );
    expect(() => loadConfig({ TLS_KEY_FILE: a.keyFile })).toThrow(ConfigError);
  });

  it('a missing file is named', () => {
    const missing = join(dir, 'nope.pem');
    expect(load(missing, a.keyFile)).toThrow(`TLS_CERT_FILE=${missing}: no such file`);
    expect(load(a.certFile, missing)).toThrow(`TLS_KEY_FILE=${missing}: no such file`);
  });

  it('a file that is not what it should be is named', () => {
    expect(load(join(dir, 'garbage.pem'), a.keyFile)).toThrow(
      /^TLS_CERT_FILE=.*garbage\.pem is not a PEM certificate/,
    );
    expect(load(join(dir, 'key-as-cert.pem'), a.keyFile)).toThrow(
      /TLS_CERT_FILE=.*key-as-cert\.pem is not a PEM certificate/,
    );
    expect(load(a.certFile, a.certFile)).toThrow(/TLS_KEY_FILE=.*cert\.pem is not a PEM private key/);
  });

  it("a key that is not the certificate's is said as such", () => {
    expect(load(a.certFile, b.keyFile)).toThrow(
      /TLS_KEY_FILE=.*b\/key\.pem is not the private key of TLS_CERT_FILE=.*a\/cert\.pem/,
    );
  });

  it('pnpm client --ca / TLS_CA_FILE: the CA reaches the adapter; a bad file is exit 2 naming it', () => {
    const caOf = (args: ReturnType<typeof parseClientArgs>) => ('ca' in args ? args.ca : undefined);
    const parsed = caOf(parseClientArgs('sse', ['--url', 'https://127.0.0.1:8003', '--ca', a.caFile], {}));
    expect(parsed?.toString()).toContain('BEGIN CERTIFICATE');
    const fromEnv = caOf(parseClientArgs('grpc', [], { TLS_CA_FILE: a.caFile }));
    expect(fromEnv?.equals(parsed ?? Buffer.alloc(0))).toBe(true);
    const missing = join(dir, 'missing-ca.pem');
    expect(parseClientArgs('rest', ['--ca', missing], {})).toEqual({
      exitCode: 2,
      message: `--ca=${missing}: no such file`,
    });
  });

  it('a CA file is checked the same way (clients: --ca, TLS_CA_FILE)', () => {
    expect(readCaFile(a.caFile).toString()).toContain('BEGIN CERTIFICATE');
    expect(() => readCaFile(join(dir, 'garbage.pem'), '--ca')).toThrow(/^--ca=.*garbage\.pem/);
    expect(() => readCaFile(join(dir, 'none.pem'))).toThrow(/TLS_CA_FILE=.*none\.pem: no such file/);
  });
});
