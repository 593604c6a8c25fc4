/**
 * The gRPC-Web demo's pages on the gRPC-Web listener (src/web.ts), in front of connect-node's
 * handler: GET /demo (public/demo.html), /demo.js (public/demo.js bundled with
 * @connectrpc/connect-web and the generated protobuf-es code), the shared design's files under
 * /ui/ (core/src/http/ui/) and GET /health (the design's "server unreachable" poll).
 *
 * The bundle is built by esbuild in memory (write: false) on the first GET /demo.js and kept for
 * the process: nothing generated is committed, so it cannot go stale against the proto or
 * demo.js, and a server that nobody opens the demo of never runs esbuild.
 *
 * The headers are the other demos' (core's createHttpApp): a CSP that runs only this server's own
 * script files, no framing, nosniff, no Referer. Every page here is open, as core's OPEN_UI_PATHS
 * (the design's files, /demo, /demo.js) and /health are on the HTTP servers: they carry no data.
 * The page reads a token from /demo?access_token=… (then this tab's sessionStorage) and sends it
 * on every call, where the access check runs (src/web.ts).
 */
import { readFile } from 'node:fs/promises';
import { bundleBrowserModule } from './bundle.ts';
import type { WebRequest, WebResponse } from './web.ts';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const JS = 'text/javascript; charset=utf-8';
const coreUi = new URL('../../core/src/http/ui/', import.meta.url);
const publicDir = new URL('../public/', import.meta.url);

/** A package of @gtp/core (marked, dompurify) as its ES module file: its package.json `module`. */
async function coreModule(name: string): Promise<URL> {
  const dir = new URL(`../../core/node_modules/${name}/`, import.meta.url);
  const { module } = JSON.parse(await readFile(new URL('package.json', dir), 'utf8')) as { module: string };
  return new URL(module, dir);
}

/** URL path → the file it serves (the shared design's, as core/src/http/ui.ts serves them). */
const FILES: Readonly<Record<string, { file: () => Promise<URL>; type: string }>> = {
  '/demo': { file: async () => new URL('demo.html', publicDir), type: 'text/html; charset=utf-8' },
  '/ui/ui.css': { file: async () => new URL('ui.css', coreUi), type: 'text/css; charset=utf-8' },
  '/ui/ui.js': { file: async () => new URL('ui.js', coreUi), type: JS },
  '/ui/vendor/marked.js': { file: () => coreModule('marked'), type: JS },
  '/ui/vendor/purify.js': { file: () => coreModule('dompurify'), type: JS },
  '/favicon.svg': { file: async () => new URL('favicon.svg', coreUi), type: 'image/svg+xml' },
  '/favicon.ico': { file: async () => new URL('favicon.svg', coreUi), type: 'image/svg+xml' },
};

/** The `pages` of createWebServer: true when it answered the request. */
export function demoPages() {
  let bundle: Promise<string> | undefined;
  const send = (response: WebResponse, status: number, type: string, body: string | Buffer) => {
    response.setHeader('content-security-policy', CSP);
    response.setHeader('x-frame-options', 'DENY');
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'no-referrer');
    response.setHeader('cache-control', 'no-cache');
    response.setHeader('content-type', type);
    response.writeHead(status);
    response.end(body);
  };
  return async (request: WebRequest, response: WebResponse): Promise<boolean> => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/health') {
      send(response, 200, 'application/json', JSON.stringify({ status: 'ok' }));
      return true;
    }
    if (path === '/demo.js') {
      bundle ??= bundleBrowserModule('demo.js');
      try {
        send(response, 200, JS, await bundle);
      } catch (error) {
        bundle = undefined;
        throw error;
      }
      return true;
    }
    const asset = FILES[path];
    if (!asset) return false;
    send(response, 200, asset.type, await readFile(await asset.file()));
    return true;
  };
}
