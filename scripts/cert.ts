/**
 * pnpm cert: a local development CA and a certificate for localhost / 127.0.0.1 / ::1 in certs/
 * (gitignored). Then every server runs over TLS with one environment change:
 *
 *   TLS_CERT_FILE=certs/cert.pem TLS_KEY_FILE=certs/key.pem pnpm serve sse
 *   TLS_CA_FILE=certs/ca.pem pnpm client sse --url https://127.0.0.1:8003
 */
import { join } from 'node:path';
import { makeDevCertificate } from '../packages/core/src/dev-cert.ts';

const dir = join(import.meta.dirname, '..', 'certs');
const made = makeDevCertificate(dir);
console.log(`made a development CA and a certificate for localhost, 127.0.0.1, ::1 in ${dir}:
  TLS_CERT_FILE=${made.certFile}
  TLS_KEY_FILE=${made.keyFile}
  TLS_CA_FILE=${made.caFile}      (clients: --ca; curl --cacert; never trust it beyond this machine)`);
