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
 * script files, no framing, nosniff, no Referer. GET /demo passes the shared access check (a page
 * opened as /demo?access_token=…); the scripts, the stylesheet and the favicon carry no data and
 * are open, as OPEN_UI_PATHS are on the HTTP servers.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AccessCheck, ChatError } from '@gtp/core';
import { bundleBrowserModule } from './bundle.ts';

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

export interface DemoPagesOptions {
  access: AccessCheck;
}

/** The `pages` of createWebServer: true when it answered the request. */
export function demoPages({ access }: DemoPagesOptions) {
  let bundle: Promise<string> | undefined;
  const send = (response: ServerResponse, status: number, type: string, body: string | Buffer) => {
    response.setHeader('content-security-policy', CSP);
    response.setHeader('x-frame-options', 'DENY');
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'no-referrer');
    response.setHeader('cache-control', 'no-cache');
    response.writeHead(status, { 'content-type': type }).end(body);
  };
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
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
    if (path === '/demo') {
      try {
        await access.check({
          transport: 'http',
          headers: request.headers,
          url: request.url,
          peer: request.socket.remoteAddress,
        });
      } catch (error) {
        const failure = ChatError.from(error);
        send(
          response,
          failure.httpStatus,
          'text/plain; charset=utf-8',
          `${failure.code}: ${failure.message}\n`,
        );
        return true;
      }
    }
    send(response, 200, asset.type, await readFile(await asset.file()));
    return true;
  };
}
