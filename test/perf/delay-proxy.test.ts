// The user-space delay of wan.bench.ts (delay-proxy.ts) through an echo server on loopback: bytes
// arrive whole and in order both ways, each chunk is held at least the delay (a lower bound,
// which the proxy guarantees; how much longer depends on the machine and is not asserted), a
// half-close follows the data before it, and the child-process form behaves the same.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/quorum.ts';
import { spawnDelayProxy, startDelayProxy, type DelayProxy, type Route } from './delay-proxy.ts';

const HOST = '127.0.0.1';
const DELAY_MS = 25;

let echo: Server;
let route: Route;
const proxies: DelayProxy[] = [];

beforeEach(async () => {
  echo = createServer({ allowHalfOpen: true }, (socket) => {
    socket.pipe(socket);
  });
  echo.listen(0, HOST);
  await once(echo, 'listening');
  const target = { host: HOST, port: (echo.address() as AddressInfo).port };
  route = { listen: { host: HOST, port: await freePort() }, target };
});

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  echo.close();
});

async function proxied(start: typeof startDelayProxy, delayMs: number): Promise<DelayProxy> {
  const proxy = await start([route], delayMs);
  proxies.push(proxy);
  return proxy;
}

/** Sends `chunks` one event-loop turn apart, then ends; the echo's bytes, and when each arrived. */
async function roundTrip(
  chunks: readonly Buffer[],
  between?: (i: number) => Promise<void>,
): Promise<{ bytes: Buffer; firstByteMs: number; ended: boolean }> {
  const socket = createConnection({ ...route.listen, allowHalfOpen: true, noDelay: true });
  await once(socket, 'connect');
  const received: Buffer[] = [];
  const sent = performance.now();
  let firstByteMs = Number.NaN;
  socket.on('data', (chunk: Buffer) => {
    if (received.length === 0) firstByteMs = performance.now() - sent;
    received.push(chunk);
  });
  const ended = once(socket, 'end').then(() => true);
  for (const [i, chunk] of chunks.entries()) {
    socket.write(chunk);
    await (between?.(i) ?? new Promise((resolve) => setImmediate(resolve)));
  }
  socket.end();
  const isEnded = await ended;
  const result = { bytes: Buffer.concat(received), firstByteMs, ended: isEnded };
  socket.destroy();
  return result;
}

/** Chunks of varied sizes, each byte naming its position, so a reordering shows. */
function numbered(count: number): Buffer[] {
  let position = 0;
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(Array.from({ length: 1 + ((i * 37) % 300) }, () => position++ & 0xff)),
  );
}

describe('delay proxy', () => {
  it('rejects a negative or non-finite delay, naming the parameter', async () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(startDelayProxy([route], bad)).rejects.toThrow(/delayMs: expected a finite/);
  });

  it('delivers every byte in order both ways, the half-close after them', async () => {
    await proxied(startDelayProxy, DELAY_MS);
    const chunks = numbered(200);
    const { bytes, ended } = await roundTrip(chunks);
    expect(ended).toBe(true);
    expect(bytes.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('holds each chunk at least the delay each way: an echo comes back after two delays', async () => {
    const proxy = await proxied(startDelayProxy, DELAY_MS);
    const { firstByteMs } = await roundTrip([Buffer.from('ping')]);
    expect(firstByteMs).toBeGreaterThanOrEqual(2 * DELAY_MS);
    const stats = await proxy.stats();
    expect(stats.chunks).toBeGreaterThanOrEqual(2);
    expect(stats.p50Ms).toBeGreaterThanOrEqual(DELAY_MS);
  });

  it('keeps order when the delay drops while chunks wait', async () => {
    const proxy = await proxied(startDelayProxy, DELAY_MS);
    const chunks = numbered(100);
    const { bytes } = await roundTrip(chunks, async (i) => {
      if (i === 49) await proxy.setDelay(0);
      await new Promise((resolve) => setImmediate(resolve));
    });
    expect(bytes.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('forwards at once with delay 0', async () => {
    const proxy = await proxied(startDelayProxy, 0);
    await roundTrip([Buffer.from('ping')]);
    expect((await proxy.stats()).maxMs).toBe(0);
  });

  it('in a child process: the same order, the same lower bound, and setDelay reaches it', async () => {
    const proxy = await proxied(spawnDelayProxy, DELAY_MS);
    const chunks = numbered(50);
    const delayed = await roundTrip(chunks);
    expect(delayed.bytes.equals(Buffer.concat(chunks))).toBe(true);
    expect(delayed.firstByteMs).toBeGreaterThanOrEqual(2 * DELAY_MS);
    expect((await proxy.stats()).p50Ms).toBeGreaterThanOrEqual(DELAY_MS);
    await proxy.setDelay(0);
    await roundTrip([Buffer.from('ping')]);
    expect((await proxy.stats()).maxMs).toBe(0);
  });
});
