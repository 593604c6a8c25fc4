/**
 * Rich errors and resume on grpc-js: the google.rpc.Status in grpc-status-details-bin (ErrorInfo,
 * RetryInfo) read back by a plain grpc-js client, and ResumeStream reading a reply from the log.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChatServer, Config } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcAdapter } from '../client.ts';
import type { ResumeStreamResponse__Output } from '../generated/genai/chat/v1/ResumeStreamResponse.ts';
import type { StreamMessageResponse__Output } from '../generated/genai/chat/v1/StreamMessageResponse.ts';
import { createServer } from '../server.ts';
import { decodeStatusDetails, STATUS_DETAILS_METADATA_KEY } from '../src/error-details.ts';
import { ChatServiceClient } from '../src/proto.ts';

const servers: ChatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Partial<Config> = {}) {
  const server = await createServer({ config: testConfig(overrides) });
  servers.push(server);
  const target = await server.listen({ port: 0, host: '127.0.0.1' });
  return { target, client: new ChatServiceClient(target, grpc.credentials.createInsecure()) };
}

function failure(
  run: (cb: (error: grpc.ServiceError | null) => void) => unknown,
): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) =>
    run((error) => (error ? resolve(error) : reject(new Error('the call succeeded')))),
  );
}

function read<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

describe('rich errors in grpc-status-details-bin', () => {
  it('a rate_limited refusal carries ErrorInfo (our code) and RetryInfo (the delay), read by grpc-js', async () => {
    const { target, client } = await start({ rateLimitMax: 1, rateLimitWindowMs: 60_000 });
    await new Promise((resolve, reject) => client.createSession({}, (e, v) => (e ? reject(e) : resolve(v))));
    const refused = await failure((cb) => client.createSession({}, cb));
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const bytes = refused.metadata.get(STATUS_DETAILS_METADATA_KEY)[0];
    expect(bytes).toBeInstanceOf(Buffer);
    const details = decodeStatusDetails(bytes as Buffer);
    expect(details.code).toBe('rate_limited');
    expect(details.retryAfterSeconds).toBeGreaterThan(0);
    expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
    // The client adapter turns it back into the ChatError, retryAfterSeconds included (lost before).
    const adapter = new GrpcAdapter(target);
    const error = await adapter.createSession().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'rate_limited' });
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThan(0);
    await adapter.close();
  });

  it('NOT_FOUND carries ErrorInfo session_not_found and no RetryInfo', async () => {
    const { client } = await start();
    const missing = await failure((cb) => client.getSession({ sessionId: 'nope' }, cb));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    const details = decodeStatusDetails(missing.metadata.get(STATUS_DETAILS_METADATA_KEY)[0] as Buffer);
    expect(details).toEqual({ code: 'session_not_found' });
  });
});

describe('ResumeStream', () => {
  it('StreamMessage numbers its events; ResumeStream gives what came after a seq, to the same done', async () => {
    const { client } = await start();
    const { session } = await new Promise<{ session: { id: string } }>((resolve, reject) =>
      client.createSession({}, (e, v) => (e ? reject(e) : resolve(v as { session: { id: string } }))),
    );
    const streamed = await read<StreamMessageResponse__Output>(
      client.streamMessage({ sessionId: session.id, text: 'count to five' }),
    );
    const seqs = streamed.map((m) => Number(m.seq));
    expect(seqs[0]).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // consecutive
    expect(streamed.at(-1)?.event).toBe('done');
    const messageId = streamed[0]!.start!.messageId;
    const cut = streamed[2]!;
    const resumed = await read<ResumeStreamResponse__Output>(
      client.resumeStream({ sessionId: session.id, messageId, after: cut.seq }),
    );
    expect(resumed.map((m) => Number(m.seq))).toEqual(seqs.slice(3));
    expect(resumed.map((m) => m.event)).toEqual(streamed.slice(3).map((m) => m.event));
    // From the start (after 0): the whole reply, start first.
    const whole = await read<ResumeStreamResponse__Output>(
      client.resumeStream({ sessionId: session.id, messageId, after: 0 }),
    );
    expect(whole.map((m) => m.event)).toEqual(streamed.map((m) => m.event));
  });

  it('an unknown reply is a reset; an unknown session NOT_FOUND; no message_id INVALID_ARGUMENT', async () => {
    const { client } = await start();
    const { session } = await new Promise<{ session: { id: string } }>((resolve, reject) =>
      client.createSession({}, (e, v) => (e ? reject(e) : resolve(v as { session: { id: string } }))),
    );
    const unknown = await read<ResumeStreamResponse__Output>(
      client.resumeStream({ sessionId: session.id, messageId: 'no-such-reply', after: 0 }),
    );
    expect(unknown.map((m) => m.event)).toEqual(['reset']);
    expect(unknown[0]!.reset!.replaying).toBe(false);
    await expect(
      read(client.resumeStream({ sessionId: 'nope', messageId: 'x', after: 0 })),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      read(client.resumeStream({ sessionId: session.id, messageId: '', after: 0 })),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
