/**
 * A browser module of public/ with what it imports inlined (@connectrpc/connect-web, the
 * protobuf-es code in generated/es/): esbuild, in memory (write: false), when first asked for.
 * Nothing generated is committed, so a bundle cannot go stale against the proto or its source;
 * a server whose demo nobody opens never runs esbuild (about 0.2 s for the demo).
 * Used for GET /demo.js (src/web-pages.ts) and the lab's gRPC-Web lane (public/grpc-web.js).
 */
import { fileURLToPath } from 'node:url';

/** `name`: a file of packages/grpc/public/. `/ui/*` imports stay as they are (the page's design). */
export async function bundleBrowserModule(name: 'demo.js' | 'grpc-web.js'): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`../public/${name}`, import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['/ui/*'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
