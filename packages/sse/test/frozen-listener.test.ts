/**
 * A frozen SSE listener (a client that holds the connection but reads nothing) is detected by the
 * write path and closed once nothing has drained for `stallTimeoutMs`, even while its queue is
 * far below `maxQueuedBytes`: heartbeats alone would otherwise keep it open forever.
 */
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { SseStream } from '../src/sse-stream.ts';

const closers: (() => unknown)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

it('closes a stream whose writes have not drained for the bound', async () => {
  let response!: ServerResponse;
  const opened = new Promise<void>((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      response = res;
      resolve();
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      socket.pause(); // frozen: never reads, its receive buffer fills, then ours
      closers.push(() => socket.destroy());
    });
    closers.push(() => server.close());
  });
  await opened;
  let closedBy: string | undefined;
  const stream = new SseStream(response, {
    maxQueuedBytes: 1024 ** 3, // the byte cap is not what catches it
    stallTimeoutMs: 500,
    onClose: () => {
      closedBy ??= 'closed';
    },
  });
  // Fill the kernel buffers (both ends) until bytes pile up in our own queue.
  const chunk = 'x'.repeat(64 * 1024);
  while (response.writableLength < 1024 * 1024) {
    stream.comment(chunk);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  // Heartbeats, as the server sends them, until the stall bound is past.
  const deadline = performance.now() + 10_000;
  while (!stream.closed && performance.now() < deadline) {
    stream.comment('heartbeat');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(stream.closed).toBe(true);
  expect(closedBy).toBe('closed');
  expect(response.destroyed).toBe(true);
});
