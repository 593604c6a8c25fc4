/**
 * The bench's gRPC clients are separate clients, one connection each, like a fleet of users:
 * grpc-js otherwise shares one HTTP/2 connection between every channel of a process to the same
 * target, and the server's 100 concurrent streams per connection would run a 200-stream trial in
 * two waves.
 */
import { testConfig } from '@gtp/core/testing';
import { GrpcAdapter } from '@gtp/grpc/client';
import { createServer } from '@gtp/grpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floorClient } from '../src/clients.ts';
import { type FloorServer, startFloor } from '../src/floors.ts';
import { portOf, WireMeter } from '../src/wire.ts';

describe('the bench’s gRPC clients', () => {
  const meter = new WireMeter();
  let server: Awaited<ReturnType<typeof createServer>>;
  let target: string;
  let floor: FloorServer;
  beforeAll(async () => {
    server = await createServer({ config: testConfig() });
    target = await server.listen({ port: 0, host: '127.0.0.1' });
    floor = await startFloor('grpc');
  });
  afterAll(async () => {
    meter.close();
    await server?.close();
    await floor?.close();
  });

  it('open one connection per adapter, to the server and to its floor', async () => {
    const adapters = [new GrpcAdapter(target), new GrpcAdapter(target), new GrpcAdapter(target)];
    const floors = [floorClient('grpc', floor.target), floorClient('grpc', floor.target)];
    try {
      for (const adapter of adapters) await adapter.createSession();
      for (const client of floors) await client.ready();
      expect(meter.openSockets(portOf(target))).toBe(3);
      expect(meter.openSockets(portOf(floor.target))).toBe(2);
    } finally {
      for (const adapter of adapters) await adapter.close();
      for (const client of floors) await client.close();
    }
  });
});
