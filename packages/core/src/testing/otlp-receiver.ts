/**
 * A local OTLP/HTTP receiver for the tracing tests: the exporter (OTEL_EXPORTER_OTLP_ENDPOINT =
 * its url) posts JSON `ExportTraceServiceRequest`s to /v1/traces, and every span lands in `spans`.
 */
import { createServer, type Server } from 'node:http';

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
  events?: { name: string }[];
}

export interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  server: Server;
}

export function otlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, spans, server });
    }),
  );
}
