/**
 * The wire meter counts each connection's bytes once, open or closed: a closed connection must
 * not count again (undici announces a plaintext socket on two diagnostics channels).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WireMeter } from '../src/wire.ts';

describe('WireMeter', () => {
  const body = 'x'.repeat(10_000);
  const server = createServer((_req, res) => res.end(body));
  let port: number;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('counts an undici connection once, while it is open and after it closed', async () => {
    const meter = new WireMeter();
    try {
      const agent = new Agent();
      const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
      expect(await res.body.text()).toHaveLength(body.length);
      const open = meter.count(port);
      expect(open.down).toBeGreaterThan(body.length); // the body and the response head
      expect(meter.openSockets(port)).toBe(1);
      await agent.close(); // the keep-alive socket closes
      await new Promise((resolve) => setImmediate(resolve));
      expect(meter.openSockets(port)).toBe(0);
      expect(meter.count(port)).toEqual(open);
    } finally {
      meter.close();
    }
  });
});
