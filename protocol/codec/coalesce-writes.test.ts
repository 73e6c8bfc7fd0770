// Fewer packets, same bytes (coalesce-writes.ts): a TCP connection's writes
// of one turn leave in one system call, in order; and a yamux channel stream
// sends window updates only past half its window while a long run of small
// frames still flows. The yamux test runs against the pinned
// @chainsafe/libp2p-yamux over real TCP + Noise, so it fails if the
// internals lazyWindowUpdates reads move.
import { createServer, connect, type Socket } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import { Uint8ArrayList } from 'uint8arraylist';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites, lazyWindowUpdates, withCoalescedWrites } from './coalesce-writes.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A connected loopback socket pair: [client, server]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const peer = await accepted;
  closers.push(async () => {
    client.destroy();
    peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return [client, peer];
}

/** A raw connection as @libp2p/tcp's: one socket.write per buffer. */
function rawConnection(socket: Socket): { socket: Socket; sendData: (d: Uint8ArrayList) => void } {
  return {
    socket,
    sendData(data: Uint8ArrayList) {
      for (const buf of data) socket.write(buf);
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coalesceWrites', () => {
  it('holds a turn of writes back until its microtasks ran, then sends them in order', async () => {
    const [a, b] = await socketPair();
    const received: Buffer[] = [];
    b.on('data', (chunk: Buffer) => received.push(chunk));
    const conn = rawConnection(a);
    expect(coalesceWrites(conn)).toBe(true);
    conn.sendData(new Uint8ArrayList(Uint8Array.of(1, 2), Uint8Array.of(3)));
    conn.sendData(new Uint8ArrayList(Uint8Array.of(4)));
    expect(a.writableCorked).toBe(1); // nothing handed to the kernel yet
    expect(a.writableLength).toBe(4);
    await turn();
    expect(a.writableCorked).toBe(0);
    while (Buffer.concat(received).length < 4) await turn();
    expect([...Buffer.concat(received)]).toEqual([1, 2, 3, 4]);
  });

  it('leaves a connection without a corkable socket as it is', () => {
    const conn = { sendData: () => undefined };
    const before = conn.sendData;
    expect(coalesceWrites(conn)).toBe(false);
    expect(conn.sendData).toBe(before);
  });
});

describe('withCoalescedWrites', () => {
  it('coalesces every connection the transport hands its upgrader, dialled or accepted', async () => {
    const [a, b] = await socketPair();
    const upgraded: object[] = [];
    const upgrader = {
      upgradeInbound: (conn: object) => upgraded.push(conn),
      upgradeOutbound: (conn: object) => upgraded.push(conn),
      other() {
        return this === upgrader;
      },
    };
    const transport = withCoalescedWrites({
      dial: (_: never, options: { upgrader: typeof upgrader }) =>
        options.upgrader.upgradeOutbound(rawConnection(a)),
      createListener: (options: { upgrader: typeof upgrader }) => {
        options.upgrader.upgradeInbound(rawConnection(b));
        return options.upgrader.other();
      },
    });
    transport.dial(undefined as never, { upgrader });
    expect(transport.createListener({ upgrader })).toBe(true); // other methods keep their `this`
    expect(upgraded).toHaveLength(2);
    for (const conn of upgraded as ReturnType<typeof rawConnection>[]) {
      conn.sendData(new Uint8ArrayList(Uint8Array.of(9)));
      expect(conn.socket.writableCorked).toBe(1);
    }
  });
});

async function host(): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  closers.push(async () => {
    await node.stop();
  });
  return node;
}

describe('lazyWindowUpdates on @chainsafe/libp2p-yamux', () => {
  it('defers window updates to half the window, and 1 MiB of small frames still flows', async () => {
    const [server, client] = [await host(), await host()];
    const inbound = Promise.withResolvers<Stream>();
    await server.handle('/test/lazy/1', (stream) => {
      inbound.resolve(stream);
    });
    const connection = await client.dial(server.getMultiaddrs()[0]!);
    const outbound = await connection.newStream('/test/lazy/1');
    const stream = await inbound.promise;
    expect(lazyWindowUpdates(stream)).toBe(true);
    const internals = stream as unknown as { recvWindow: number; recvWindowCapacity: number };
    const window = internals.recvWindow;

    let got = 0;
    stream.addEventListener('message', (event) => {
      got += event.data.byteLength;
    });
    const frame = new Uint8Array(1024);
    outbound.send(frame);
    while (got < frame.length) await turn();
    // Without the change yamux would have topped the window up after this frame.
    expect(internals.recvWindowCapacity).toBe(window - frame.length);

    const total = 1024 * 1024; // four times the initial window
    for (let sent = frame.length; sent < total; sent += frame.length)
      if (!outbound.send(frame)) await outbound.onDrain();
    while (got < total) await turn();
    expect(got).toBe(total);
  });

  it('leaves a stream that is not a yamux stream as it is', () => {
    expect(lazyWindowUpdates({ sendWindowUpdate: () => undefined })).toBe(false);
  });
});
