/**
 * The server logs through the logger it is given (pino, at LOG_LEVEL, by default): start and
 * stop, and each failed call once, with its cause, its method and the caller's principal.
 */
import * as grpc from '@grpc/grpc-js';
import { ANONYMOUS_PRINCIPAL, ChatError, ChatService, type Logger, type ModelProvider } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { ChatServiceClient } from '../src/proto.ts';

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps its lines: pino's (fields, message) and (message) call forms. */
function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (fields: Record<string, unknown> | string, message?: string) =>
    lines.push(
      typeof fields === 'string'
        ? { level, fields: {}, message: fields }
        : { level, fields, message: message ?? '' },
    );
  const logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
  return Object.assign(logger, { child: () => logger }) as unknown as Logger;
}

describe('gRPC server logging', () => {
  it('logs start, stop and a failed call once with its cause and principal', async () => {
    const lines: Line[] = [];
    const server = await createServer({ config: testConfig(), logger: recordingLogger(lines) });
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
        client.getSession({ sessionId: '00000000-0000-4000-8000-000000000000' }, (failure) =>
          failure ? resolve(failure) : reject(new Error('the call succeeded')),
        ),
      );
      expect(error.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
      await server.close();
    }

    // The gRPC-Web/Connect listener (src/web.ts) starts and logs first; then the grpc-js one.
    expect(lines.find((line) => line.message === 'gRPC server listening')).toMatchObject({
      level: 'info',
      fields: { address: target },
    });
    const failures = lines.filter((line) => line.fields.code !== undefined);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      level: 'info', // the client's mistake; server faults are logged at error
      fields: {
        method: '/genai.chat.v1.ChatService/GetSession',
        principal: ANONYMOUS_PRINCIPAL,
        code: 'session_not_found',
        err: expect.objectContaining({ code: 'session_not_found' }),
      },
    });
    expect(lines.at(-1)).toMatchObject({ level: 'info', message: 'gRPC server stopped' });
  });

  it('a model failure mid-stream is logged once (by ChatService, with its cause), not again here', async () => {
    const lines: Line[] = [];
    const logger = recordingLogger(lines);
    const failing: ModelProvider = {
      info: { provider: 'simulated', id: 'failing' },
      // biome-ignore lint/correctness/useYield: it fails before its first token
      async *stream() {
        throw new ChatError('model_error', 'the model broke', { cause: new Error('socket hang up') });
      },
    };
    const config = testConfig();
    const chat = await ChatService.create(config, 'grpc', { model: failing, logger });
    const server = await createServer({ config, chat });
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    try {
      const session = await new Promise<{ id: string }>((resolve, reject) =>
        client.createSession({}, (error, value) => (error ? reject(error) : resolve(value!.session!))),
      );
      const stream = client.streamMessage({ sessionId: session.id, text: 'hi' });
      const events: string[] = [];
      stream.on('data', (event: { event: string }) => events.push(event.event));
      const status = await new Promise<grpc.ServiceError>((resolve, reject) => {
        stream.once('error', resolve);
        stream.once('end', () => reject(new Error('the stream ended without an error')));
      });
      expect(events).toEqual(['start', 'error']);
      expect(status.code).toBe(grpc.status.INTERNAL); // model_error: not a retryable UNAVAILABLE
    } finally {
      client.close();
      await server.close();
      await chat.close();
    }
    const failures = lines.filter((line) => line.fields.code === 'model_error');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'error', fields: { err: expect.any(ChatError) } });
    expect((await chat.snapshot()).errors.byCode.model_error).toBe(1);
  });
});
