import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGeminiRequest {
  path: string;
  apiKey: string | undefined;
  body: { contents?: Array<{ role: string; parts: Array<{ text: string }> }>; systemInstruction?: unknown };
  /** Resolves when the client closed the connection before the answer ended. */
  aborted: Promise<void>;
}

/** What the fake answers: chunks of text streamed as SSE, or an HTTP error with Google's error body. */
export type FakeGeminiScript =
  | { chunks: string[]; beforeChunk?: (index: number) => Promise<void>; finishReason?: string }
  | { status: number; message: string; retryDelay?: string };

/**
 * A local HTTP server that speaks Gemini's `models/{model}:streamGenerateContent?alt=sse` wire
 * format, so the real @google/genai SDK can be tested offline (point it here with
 * GOOGLE_GEMINI_BASE_URL or httpOptions.baseUrl).
 */
export class FakeGemini {
  readonly requests: FakeGeminiRequest[] = [];
  #server: Server | undefined;
  #script: (request: FakeGeminiRequest) => FakeGeminiScript;

  constructor(script: (request: FakeGeminiRequest) => FakeGeminiScript) {
    this.#script = script;
  }

  setScript(script: (request: FakeGeminiRequest) => FakeGeminiScript): void {
    this.#script = script;
  }

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let markAborted: () => void = () => undefined;
    const aborted = new Promise<void>((resolve) => {
      markAborted = resolve;
    });
    res.on('close', () => {
      if (!res.writableFinished) markAborted();
    });
    const request: FakeGeminiRequest = {
      path: req.url ?? '',
      apiKey: req.headers['x-goog-api-key'] as string | undefined,
      body: raw ? JSON.parse(raw) : {},
      aborted,
    };
    this.requests.push(request);
    if (!/:streamGenerateContent\?alt=sse$/.test(request.path)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 404, message: `unexpected path ${request.path}`, status: 'NOT_FOUND' },
        }),
      );
      return;
    }
    const script = this.#script(request);
    if ('status' in script) {
      res.writeHead(script.status, { 'content-type': 'application/json; charset=UTF-8' });
      const details = script.retryDelay
        ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: script.retryDelay }]
        : [];
      res.end(
        JSON.stringify({ error: { code: script.status, message: script.message, status: 'ERROR', details } }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const promptTokens = (request.body.contents ?? []).length * 3;
    for (const [index, text] of script.chunks.entries()) {
      await script.beforeChunk?.(index);
      if (res.destroyed) return;
      const last = index === script.chunks.length - 1;
      const chunk = {
        candidates: [
          {
            content: { parts: [{ text }], role: 'model' },
            index: 0,
            ...(last ? { finishReason: script.finishReason ?? 'STOP' } : {}),
          },
        ],
        usageMetadata: {
          promptTokenCount: promptTokens,
          candidatesTokenCount: index + 1,
          totalTokenCount: promptTokens + index + 1,
        },
        modelVersion: 'fake',
      };
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    }
    res.end();
  }
}
