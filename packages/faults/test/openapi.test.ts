/**
 * The OpenAPI document of the four HTTP servers is complete, not only valid: an operationId on
 * every operation (unique), the security schemes and `security`, the access check's 401/403/429
 * on every route it guards (not /health), 204s without a body, the SSE route as
 * text/event-stream, and the version from core's package.json.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '@gtp/core';
import { createServer as createRest } from '@gtp/rest/server';
import { createServer as createSse } from '@gtp/sse/server';
import { createServer as createStreamableHttp } from '@gtp/streamable-http/server';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { describe, expect, it } from 'vitest';

interface Operation {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}

const CORE_VERSION = (
  JSON.parse(readFileSync(new URL('../../core/package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe.each([
  ['rest', createRest],
  ['streamable-http', createStreamableHttp],
  ['sse', createSse],
  ['websocket', createWebSocket],
] as const)('%s: the OpenAPI document', (protocol, create) => {
  it('names, secures and answers every operation', async () => {
    const server = await create({ config: loadConfig({ LOG_LEVEL: 'silent' }) });
    try {
      const address = await server.listen({ port: 0, host: '127.0.0.1' });
      const doc = (await (await fetch(`${address}/openapi.json`)).json()) as {
        info: { version: string };
        security: Record<string, unknown>[];
        components: {
          securitySchemes: Record<
            string,
            { type: string; scheme?: string; in?: string; name?: string; bearerFormat?: string }
          >;
        };
        paths: Record<string, Record<string, Operation>>;
      };
      expect(doc.info.version).toBe(CORE_VERSION);
      const schemes = Object.values(doc.components.securitySchemes);
      expect(schemes).toContainEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
      expect(schemes).toContainEqual(expect.objectContaining({ type: 'http', bearerFormat: 'JWT' }));
      expect(schemes).toContainEqual(
        expect.objectContaining({ type: 'apiKey', in: 'query', name: 'access_token' }),
      );
      expect(doc.security.length).toBeGreaterThanOrEqual(3);

      const ids: string[] = [];
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(operations)) {
          const where = `${method.toUpperCase()} ${path}`;
          expect(op.operationId, where).toMatch(/^[a-z][A-Za-z0-9]+$/);
          ids.push(op.operationId!);
          if (path === '/health') expect(op.security, where).toEqual([]);
          else
            for (const status of ['401', '403', '429'])
              expect(op.responses[status], `${where} ${status}`).toBeDefined();
          if (op.responses['204']) expect(op.responses['204'].content, `${where} 204`).toBeUndefined();
        }
      }
      expect(new Set(ids).size).toBe(ids.length);
      expect(doc.paths['/metrics']?.get?.responses['200']?.content).toHaveProperty(['text/plain']);
      if (protocol === 'sse') {
        const events = doc.paths['/sessions/{id}/events']!.get!;
        expect(Object.keys(events.responses['200']!.content!)).toEqual(['text/event-stream']);
      }
    } finally {
      await server.close();
    }
  });
});
