/**
 * A local development certificate: a throw-away CA and a server certificate it signs for
 * `localhost`, `127.0.0.1` and `::1`, made with Debian's `openssl` (no key ever leaves the
 * machine). `pnpm cert` writes them to the gitignored `certs/`; the TLS tests make their own.
 *
 *   ca.pem       the CA certificate clients trust   (TLS_CA_FILE, --ca, curl --cacert)
 *   cert.pem     the server certificate              (TLS_CERT_FILE)
 *   key.pem      its private key                     (TLS_KEY_FILE)
 *
 * Why a CA and not one self-signed certificate: BoringSSL (Chromium, Python grpcio) and
 * Node all accept a CA-issued leaf, while a self-signed leaf used as its own root is refused by
 * some of them; and a test can make a second CA to check that a wrong one is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OPENSSL_PATH = process.env.OPENSSL_PATH ?? '/usr/bin/openssl';

/** Chromium refuses certificates valid for longer than 398 days; a year is what we issue. */
const VALIDITY_DAYS = 365;

export interface DevCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Make ca.pem, cert.pem and key.pem in `dir` (created if needed). */
export function makeDevCertificate(
  dir: string,
  hosts: { dns: string[]; ips: string[] } = DEFAULT_HOSTS,
): DevCertificate {
  mkdirSync(dir, { recursive: true });
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]) =>
    execFileSync(OPENSSL_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('ca-key.pem'),
    '-out',
    path('ca.pem'),
    '-days',
    String(VALIDITY_DAYS),
    '-subj',
    '/CN=genai-transports development CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl([
    'req',
    ...ec,
    '-keyout',
    path('key.pem'),
    '-out',
    path('cert.csr'),
    '-subj',
    `/CN=${hosts.dns[0] ?? 'localhost'}`,
  ]);
  const altNames = [...hosts.dns.map((d) => `DNS:${d}`), ...hosts.ips.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(
    path('cert.ext'),
    [
      `subjectAltName=${altNames}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  openssl([
    'x509',
    '-req',
    '-in',
    path('cert.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca-key.pem'),
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    String(VALIDITY_DAYS),
    '-extfile',
    path('cert.ext'),
    '-out',
    path('cert.pem'),
  ]);
  rmSync(path('cert.csr'));
  rmSync(path('cert.ext'));
  return { caFile: path('ca.pem'), certFile: path('cert.pem'), keyFile: path('key.pem') };
}

const DEFAULT_HOSTS = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };
