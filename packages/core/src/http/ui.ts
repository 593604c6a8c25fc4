/**
 * The shared page design, served by every HTTP server (and the lab): one stylesheet, one UI
 * module (a plain ES module, no build step), the favicon, and the markdown renderer the demos use
 * for model replies — marked (HTML in the input is escaped by ui.js) and DOMPurify, served from
 * node_modules so the pages work offline. `GET /` points to the demo, the docs and the lab.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LAB_PORT } from '../constants.ts';

export interface UiOptions {
  /** Shown on `GET /`. */
  title: string;
  /** Where the lab runs (default: this host on DEFAULT_LAB_PORT). */
  labUrl?: string;
  /**
   * The server's protocol: its demo's script, `packages/<protocol>/public/demo.js` (the one place
   * every package keeps its demo), is served at `GET /demo.js`. The pages' Content-Security-Policy
   * runs only the server's own script files, never an inline script, so demo.html loads it.
   */
  protocol?: string;
}

/** URL path → the file it serves and its content type. */
const ASSETS: Readonly<Record<string, { file: URL | string; type: string }>> = {
  '/ui/ui.css': { file: new URL('./ui/ui.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/ui/ui.js': { file: new URL('./ui/ui.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/ui/vendor/marked.js': {
    file: fileURLToPath(import.meta.resolve('marked')),
    type: 'text/javascript; charset=utf-8',
  },
  '/ui/vendor/purify.js': {
    file: fileURLToPath(import.meta.resolve('dompurify')),
    type: 'text/javascript; charset=utf-8',
  },
  '/favicon.svg': { file: new URL('./ui/favicon.svg', import.meta.url), type: 'image/svg+xml' },
  '/favicon.ico': { file: new URL('./ui/favicon.svg', import.meta.url), type: 'image/svg+xml' },
};

/**
 * The paths that carry no data — the design's files, the favicon, a demo's page and script — and
 * so pass without a token, like GET /health (the access check's probe rule in plugin.ts). A page
 * opened with ?access_token= cannot put the token on what the browser fetches by itself (the
 * favicon, `<script src>`, `<link rel=stylesheet>`), and a reload of /demo after the page took the
 * token out of the address bar has none: the page's script reads it from sessionStorage.
 */
export const OPEN_UI_PATHS: ReadonlySet<string> = new Set([...Object.keys(ASSETS), '/demo', '/demo.js']);

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The index page: what this server offers, with links. */
function indexPage(title: string, links: { href: string; label: string; note: string }[]): string {
  const items = links
    .map(
      (l) =>
        `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a> <span>${escapeHtml(l.note)}</span></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · genai-transports</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/ui/ui.css"></head>
<body class="ui-index"><header class="ui-header"><h1>${escapeHtml(title)}</h1></header>
<main><p>One multi-turn chat, served over five transports. This server offers:</p>
<ul class="ui-links">
${items}
</ul></main></body></html>`;
}

/** A Fastify plugin: `await app.register(uiRoutes, { title })`. */
export async function uiRoutes(app: FastifyInstance, options: UiOptions): Promise<void> {
  const cache = new Map<string, Promise<Buffer>>();
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let body = cache.get(path);
      if (!body) {
        body = readFile(asset.file);
        cache.set(path, body);
      }
      return reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        .send(await body);
    });
  }
  const demoScript = options.protocol
    ? new URL(`../../../${options.protocol}/public/demo.js`, import.meta.url)
    : undefined;
  if (demoScript && existsSync(demoScript)) {
    const body = readFile(demoScript);
    app.get('/demo.js', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await body),
    );
  }
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const labUrl =
      options.labUrl ?? `${request.protocol}://${request.hostname.replace(/:\d+$/, '')}:${DEFAULT_LAB_PORT}/`;
    const links = [
      ...(app.hasRoute({ method: 'GET', url: '/demo' })
        ? [{ href: '/demo', label: 'Demo', note: 'the chat in your browser, with the raw frames beside it' }]
        : []),
      ...(app.hasRoute({ method: 'GET', url: '/lab' })
        ? [{ href: '/lab', label: 'Race', note: 'one prompt over every transport at once' }]
        : []),
      ...(app.hasRoute({ method: 'GET', url: '/docs' })
        ? [{ href: '/docs', label: 'API docs', note: 'Swagger UI of the OpenAPI document' }]
        : []),
      ...(app.hasRoute({ method: 'GET', url: '/lab' })
        ? []
        : [
            {
              href: labUrl,
              label: 'The lab',
              note: '`pnpm lab`: every transport side by side (when it runs)',
            },
          ]),
    ];
    return reply.type('text/html; charset=utf-8').send(indexPage(options.title, links));
  });
}
