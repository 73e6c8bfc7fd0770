// Long file: one e2e suite of the request channel, each limit and outcome against real hosts.
// The request channel (docs/protocol.md §1b) between a real libp2p host and a
// real client over TCP on loopback: answers come back by id in the order they
// finish; requests past maxInFlight are answered BUSY at once while the rest
// succeed; a frame left incomplete past the read deadline resets that channel
// and no other; a client's half-close still gets what is in flight; a kind
// without a handler and a message over its kind's cap are answered with a
// code (the latter from its head, before its message arrives); a frame too
// short for its header resets the stream; onRequest sees every request once
// with its protocol and outcome, and the log one line, through the same
// request template as a stream (node/network/request.ts); registerChannel
// refuses a spec or deps bag that would weaken a limit, as registerHandler
// does. The client's connection pool, over the same channel, keeps to one
// channel per connection.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../client/channel.ts';
import { ConnectionPool } from '../../client/pool.ts';
import { createHost, type Host } from '../../node/network/host.ts';
import { registerChannel, type ChannelSpec } from '../../node/network/channel.ts';
import type { RequestContext, RequestOutcome } from '../../node/network/stream.ts';
import {
  CHANNEL_PROTOCOL,
  ErrorCode,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  MAX_FRAME_BYTES,
  QkmsError,
  decodeChannelAnswer,
  decodeMessage,
  encodeChannelRequest,
  encodeFrame,
  type ChannelKind,
  type NodeEntry,
  type RejectionCode,
} from '../../protocol/internal.ts';
import { recorder } from '../support/net-recorder.ts';
import { createClient } from '../support/quorum.ts';

/** Generous: the tests assert answers and codes, not times; this only bounds a broken run. */
const WAIT_MS = 10_000;
const CAP = MAX_FRAME_BYTES.publish;

let hosts: Host[] = [];
let clients: Libp2p[] = [];
afterEach(async () => {
  for (const c of clients) await c.stop();
  await Promise.all(hosts.map((h) => h.close()));
  hosts = [];
  clients = [];
});

type Handler = (message: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>;

interface Served {
  readonly host: Host;
  readonly addr: Multiaddr;
  readonly log: ReturnType<typeof recorder>;
  /** One entry per onRequest call. */
  readonly requests: { protocol: string; outcome: RequestOutcome }[];
}

/** A listening host serving the channel with `handlers`. */
async function serve(
  handlers: ChannelSpec['handlers'],
  limits: Partial<Omit<ChannelSpec, 'handlers'>> = {},
): Promise<Served> {
  const host = await createHost(
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      nodeSetPeers: [],
      allow: [],
    },
    { log: recorder() },
  );
  hosts.push(host);
  const log = recorder();
  const requests: Served['requests'] = [];
  await registerChannel(
    host.libp2p,
    { readDeadlineMs: WAIT_MS, maxInFlight: 8, maxInboundStreams: 4, handlers, ...limits },
    {
      log,
      onRequest: (protocol, outcome) => {
        requests.push({ protocol, outcome });
      },
    },
  );
  const [addr] = host.libp2p.getMultiaddrs();
  if (addr === undefined) throw new Error('host is not listening');
  return { host, addr, log, requests };
}

async function client(): Promise<Libp2p> {
  const c = await createClient();
  clients.push(c);
  return c;
}

async function connect(to: Served): Promise<Connection> {
  return (await client()).dial(to.addr, { signal: AbortSignal.timeout(WAIT_MS) });
}

async function channelTo(to: Served): Promise<Channel> {
  return Channel.open(await connect(to), AbortSignal.timeout(WAIT_MS));
}

function ask(channel: Channel, kind: ChannelKind, message: Uint8Array): Promise<Uint8Array> {
  return channel.request(kind, message, {
    signal: AbortSignal.timeout(WAIT_MS),
    maxReplyBytes: CAP,
  });
}

function rejection(reply: Uint8Array): RejectionCode {
  return decodeMessage(reply, CAP, ['reject']).code;
}

/** How a promise settled, so one left behind by a failing assertion is never unhandled. */
type Settled = { ok: true; value: Uint8Array } | { ok: false; error: unknown };
function settle(p: Promise<Uint8Array>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

const echo: Handler = async (message) => Promise.resolve(message);

/** Handler calls held until the test releases them. */
function gated(): { handler: Handler; entered: () => number; release: () => void } {
  const gate = Promise.withResolvers<undefined>();
  let entered = 0;
  return {
    handler: async (message) => {
      entered++;
      await gate.promise;
      return message;
    },
    entered: () => entered,
    release: () => {
      gate.resolve(undefined);
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw channel stream, for bytes a good client never writes; answers collected by id. */
async function rawChannel(to: Served): Promise<{
  connection: Connection;
  stream: Stream;
  answers: Map<number, Uint8Array>;
  closed: Promise<void>;
}> {
  const connection = await connect(to);
  const stream = await connection.newStream(CHANNEL_PROTOCOL, {
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const answers = new Map<number, Uint8Array>();
  const splitter = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES);
  stream.addEventListener('message', (evt) => {
    for (const body of splitter.push(evt.data.subarray())) {
      const { id, message } = decodeChannelAnswer(body);
      answers.set(id, message);
    }
  });
  const closed = new Promise<void>((resolve) => {
    stream.addEventListener('close', () => {
      resolve();
    });
  });
  return { connection, stream, answers, closed };
}

describe('answers by id, in the order they finish', () => {
  it('answers a fast request while a slow one sent before it is still running', async () => {
    const slow = gated();
    const node = await serve({
      info: async (message, ctx) =>
        message[0] === 0x51 ? slow.handler(message, ctx) : echo(message, ctx),
    });
    const channel = await channelTo(node);
    let slowDone = false;
    const slowReply = settle(ask(channel, 'info', Uint8Array.of(0x51)));
    void slowReply.then(() => {
      slowDone = true;
    });
    await until(() => slow.entered() === 1);
    expect(await ask(channel, 'info', Uint8Array.of(0x46))).toEqual(Uint8Array.of(0x46));
    expect(slowDone).toBe(false);
    slow.release();
    expect(await slowReply).toEqual({ ok: true, value: Uint8Array.of(0x51) });
  });

  it('gives each of many concurrent requests of every kind its own answer', async () => {
    const tagged =
      (tag: number): Handler =>
      async (message) =>
        Promise.resolve(Uint8Array.of(tag, ...message));
    const node = await serve(
      {
        recover: tagged(1),
        publish: tagged(2),
        info: tagged(3),
        revoke: tagged(4),
      },
      { maxInFlight: 64 },
    );
    const channel = await channelTo(node);
    const kinds: ChannelKind[] = ['recover', 'publish', 'info', 'revoke'];
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ask(channel, kinds[i % 4] ?? 'info', Uint8Array.of(i))),
    );
    expect(replies.map((r) => [...r])).toEqual(
      Array.from({ length: 40 }, (_, i) => [(i % 4) + 1, i]),
    );
  });
});

describe('limits', () => {
  it('answers BUSY at once to requests past maxInFlight while the others succeed', async () => {
    const held = gated();
    const node = await serve({ recover: held.handler }, { maxInFlight: 2 });
    const channel = await channelTo(node);
    const settled: (Uint8Array | undefined)[] = [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ];
    const replies = [0, 1, 2, 3, 4].map((i) =>
      settle(ask(channel, 'recover', Uint8Array.of(0xa0 + i))).then((r) => {
        if (r.ok) settled[i] = r.value;
        return r;
      }),
    );
    // The excess is answered while both admitted requests are still held.
    await until(() => settled.filter((r) => r !== undefined).length === 3);
    expect(held.entered()).toBe(2);
    const early = settled.filter((r): r is Uint8Array => r !== undefined);
    expect(early.map(rejection)).toEqual(['BUSY', 'BUSY', 'BUSY']);
    held.release();
    const all = await Promise.all(replies);
    expect(all.every((r) => r.ok)).toBe(true);
    const ok = settled.filter((r): r is Uint8Array => r?.length === 1);
    expect(ok).toHaveLength(2);
    expect(ok.every((r) => (r[0] ?? 0) >= 0xa0 && (r[0] ?? 0) <= 0xa4)).toBe(true);
    await until(() => node.requests.length === 5);
    expect(node.requests.filter((r) => r.outcome === 'BUSY')).toHaveLength(3);
    expect(node.requests.filter((r) => r.outcome === 'ok')).toHaveLength(2);
    // The slots are free again.
    expect(await ask(channel, 'recover', Uint8Array.of(7))).toEqual(Uint8Array.of(7));
  });

  it('resets a channel whose frame is not completed within readDeadlineMs, and no other', async () => {
    const node = await serve({ info: echo }, { readDeadlineMs: 300 });
    const good = await channelTo(node);
    const stalled = await rawChannel(node);
    // Half a frame: a prefix announcing 10 bytes, then 6 of them, then silence.
    stalled.stream.send(
      encodeFrame(encodeChannelRequest('info', 1, new Uint8Array(5))).subarray(0, 7),
    );
    await stalled.closed;
    expect(stalled.stream.status).toBe('reset');
    expect(stalled.answers.size).toBe(0);
    expect(node.log.lines).toContainEqual(
      expect.objectContaining({ msg: 'channel reset: frame not completed in time' }),
    );
    expect(await ask(good, 'info', Uint8Array.of(9))).toEqual(Uint8Array.of(9));
    expect(good.usable).toBe(true);
  });

  it('bounds a whole frame by readDeadlineMs, not the gap between its chunks (a byte at a time)', async () => {
    let handled = 0;
    const node = await serve(
      {
        info: async (m) => {
          handled++;
          return Promise.resolve(m);
        },
      },
      { readDeadlineMs: 300 },
    );
    const drip = await rawChannel(node);
    const frame = encodeFrame(encodeChannelRequest('info', 1, new Uint8Array(15))); // 21 bytes
    // One byte every 100 ms: each gap is a third of the deadline; the frame takes 2 s.
    let sent = 0;
    for (const byte of frame) {
      if (drip.stream.status !== 'open') break;
      drip.stream.send(Uint8Array.of(byte));
      sent++;
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.race([drip.closed, new Promise((r) => setTimeout(r, 1_000))]);
    expect({ reset: drip.stream.status === 'reset', handled }).toEqual({ reset: true, handled: 0 });
    expect(sent).toBeLessThan(frame.length);
  });

  it('closes the whole connection of a client that trickles a frame a byte per chunk, and serves the next one', async () => {
    let handled = 0;
    const node = await serve({
      publish: async (m) => {
        handled++;
        return Promise.resolve(m);
      },
      info: echo,
    });
    const trickler = await rawChannel(node);
    const { connection, stream } = trickler;
    const frame = encodeFrame(encodeChannelRequest('publish', 1, new Uint8Array(CAP)));
    let sent = 0;
    for (; sent < frame.length && stream.status === 'open'; sent++) {
      stream.send(frame.subarray(sent, sent + 1));
      // Let the node's answer (a reset, a closed connection) come in now and then.
      if (sent % 64 === 63) await new Promise((r) => setImmediate(r));
    }
    await Promise.race([trickler.closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
    await until(() => connection.status !== 'open');
    expect(handled).toBe(0);
    // Cut off after a few hundred chunks (maxFrameChunks), far from the 65,544 of the frame.
    expect(sent).toBeLessThan(frame.length / 4);
    expect(
      node.log.lines.some((l) => l.msg.startsWith('connection closed: a frame trickled')),
    ).toBe(true);
    const fresh = await channelTo(node);
    expect(await ask(fresh, 'info', Uint8Array.of(7))).toEqual(Uint8Array.of(7));
  });

  it('answers what is in flight after the client closes its end, then closes the channel', async () => {
    const held = gated();
    const node = await serve({ info: held.handler });
    const raw = await rawChannel(node);
    raw.stream.send(encodeFrame(encodeChannelRequest('info', 41, Uint8Array.of(4))));
    raw.stream.send(encodeFrame(encodeChannelRequest('info', 42, Uint8Array.of(2))));
    await until(() => held.entered() === 2);
    const closing = raw.stream.close().catch(() => undefined); // our half-close
    held.release();
    await raw.closed;
    await closing;
    expect(raw.stream.status).toBe('closed');
    expect([...raw.answers].sort(([a], [b]) => a - b)).toEqual([
      [41, Uint8Array.of(4)],
      [42, Uint8Array.of(2)],
    ]);
  });

  it('resets the stream for a frame too short to hold a kind and an id', async () => {
    const node = await serve({ info: echo });
    const raw = await rawChannel(node);
    raw.stream.send(encodeFrame(Uint8Array.of(3, 0, 0, 0)));
    await raw.closed;
    expect(raw.stream.status).toBe('reset');
    expect(raw.answers.size).toBe(0);
  });

  it('answers TOO_LARGE by id from the prefix, kind and id of a request over its kind’s cap, before its message is sent', async () => {
    const node = await serve({ recover: echo });
    const raw = await rawChannel(node);
    const frame = encodeFrame(
      encodeChannelRequest('recover', 0x0c0ffee0, new Uint8Array(MAX_FRAME_BYTES.recover + 1)),
    );
    const head = frame.length - (MAX_FRAME_BYTES.recover + 1); // prefix, kind, id
    raw.stream.send(frame.subarray(0, head));
    await until(() => raw.answers.size === 1);
    expect(rejection(raw.answers.get(0x0c0ffee0) ?? new Uint8Array(0))).toBe('TOO_LARGE');
    expect(node.requests).toEqual([{ protocol: CHANNEL_PROTOCOL, outcome: 'TOO_LARGE' }]);
    // Its message is skipped as it comes, and the channel goes on.
    raw.stream.send(frame.subarray(head));
    raw.stream.send(encodeFrame(encodeChannelRequest('recover', 2, Uint8Array.of(6))));
    await until(() => raw.answers.size === 2);
    expect(raw.answers.get(2)).toEqual(Uint8Array.of(6));
    expect(raw.stream.status).toBe('open');
  });

  it('answers TOO_LARGE to a message over its kind’s cap, and goes on serving the channel', async () => {
    const node = await serve({ info: echo, publish: echo });
    const channel = await channelTo(node);
    const over = new Uint8Array(MAX_FRAME_BYTES.info + 1);
    expect(rejection(await ask(channel, 'info', over))).toBe('TOO_LARGE');
    // The same size is fine for a kind whose cap is larger.
    expect(await ask(channel, 'publish', over)).toHaveLength(over.length);
    expect(channel.usable).toBe(true);
  });
});

describe('answers and outcomes', () => {
  it('answers reject MALFORMED to a kind the node has no handler for', async () => {
    const node = await serve({ info: echo });
    const channel = await channelTo(node);
    expect(rejection(await ask(channel, 'publish', Uint8Array.of(1)))).toBe('MALFORMED');
    expect(await ask(channel, 'info', Uint8Array.of(2))).toEqual(Uint8Array.of(2));
    await until(() => node.requests.length === 2);
    expect(node.requests).toEqual([
      { protocol: '/qkms/publish/1', outcome: 'MALFORMED' },
      { protocol: '/qkms/info/1', outcome: 'ok' },
    ]);
  });

  it('answers reject MALFORMED, by id, to an unknown kind byte', async () => {
    const node = await serve({ info: echo });
    const raw = await rawChannel(node);
    const body = encodeChannelRequest('info', 0x0a0b0c0d, Uint8Array.of(1));
    body[0] = 9;
    raw.stream.send(encodeFrame(body));
    await until(() => raw.answers.size === 1);
    expect(rejection(raw.answers.get(0x0a0b0c0d) ?? new Uint8Array(0))).toBe('MALFORMED');
    expect(node.requests).toEqual([{ protocol: CHANNEL_PROTOCOL, outcome: 'MALFORMED' }]);
  });

  it('calls onRequest once per request with its protocol and outcome', async () => {
    const node = await serve({
      info: echo,
      recover: () => Promise.reject(new QkmsError(ErrorCode.REPLAYED, 'nonce seen before')),
      revoke: () => Promise.reject(new Error('disk on fire')),
      publish: () => Promise.reject(new QkmsError(ErrorCode.STORE_CORRUPT, 'local only')),
    });
    const channel = await channelTo(node);
    expect(await ask(channel, 'info', Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    expect(rejection(await ask(channel, 'recover', Uint8Array.of(2)))).toBe('REPLAYED');
    const internal = await ask(channel, 'revoke', Uint8Array.of(3));
    expect(rejection(internal)).toBe('INTERNAL');
    expect(Buffer.from(internal).includes(Buffer.from('disk'))).toBe(false);
    expect(rejection(await ask(channel, 'publish', Uint8Array.of(4)))).toBe('INTERNAL');
    await until(() => node.requests.length >= 4);
    await new Promise((r) => setTimeout(r, 100)); // a second call per request would land by now
    expect(node.requests).toEqual([
      { protocol: '/qkms/info/1', outcome: 'ok' },
      { protocol: '/qkms/recover/1', outcome: 'REPLAYED' },
      { protocol: '/qkms/revoke/1', outcome: 'INTERNAL' },
      { protocol: '/qkms/publish/1', outcome: 'INTERNAL' },
    ]);
  });

  it('writes one log line per request, as a stream request does: an INTERNAL one is an error with its reason', async () => {
    const node = await serve({
      info: echo,
      revoke: () => Promise.reject(new Error('disk on fire')),
    });
    const channel = await channelTo(node);
    expect(await ask(channel, 'info', Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    expect(rejection(await ask(channel, 'revoke', Uint8Array.of(2)))).toBe('INTERNAL');
    await until(() => node.requests.length === 2);
    const lines = node.log.lines.filter((l) => l.msg.startsWith('request'));
    expect(lines).toEqual([
      {
        level: 'debug',
        msg: 'request',
        ctx: expect.objectContaining({
          protocol: '/qkms/info/1',
          outcome: 'ok',
          delivered: true,
          channel: true,
        }) as unknown,
      },
      {
        level: 'error',
        msg: 'request failed',
        ctx: expect.objectContaining({
          protocol: '/qkms/revoke/1',
          outcome: 'INTERNAL',
          channel: true,
          err: 'Error',
          reason: 'disk on fire',
        }) as unknown,
      },
    ]);
  });

  it('hands the handler the Noise-authenticated PeerId of the client', async () => {
    let seen = '';
    const node = await serve({
      info: async (m, ctx) => {
        seen = ctx.remotePeer;
        return Promise.resolve(m);
      },
    });
    const connection = await connect(node);
    const channel = await Channel.open(connection, AbortSignal.timeout(WAIT_MS));
    await ask(channel, 'info', Uint8Array.of(1));
    expect(seen).toBe(clients[0]?.peerId.toString());
  });
});

describe('option bags refuse what would weaken a limit', () => {
  const good = (): ChannelSpec => ({
    readDeadlineMs: 1_000,
    maxInFlight: 8,
    maxInboundStreams: 4,
    handlers: { info: echo },
  });
  const bad: [string, Record<string, unknown>][] = [
    ['an unknown key', { maxInFlights: 8 }],
    ['a zero deadline', { readDeadlineMs: 0 }],
    ['a deadline over a minute', { readDeadlineMs: 60_001 }],
    ['a fractional in-flight limit', { maxInFlight: 1.5 }],
    ['a zero in-flight limit', { maxInFlight: 0 }],
    ['a string stream limit', { maxInboundStreams: '4' }],
    ['a handler for a kind the channel does not carry', { handlers: { revsync: echo } }],
    ['a handler that is not a function', { handlers: { info: 'echo' } }],
    ['no handlers', { handlers: null }],
  ];
  for (const [name, patch] of bad) {
    it(`registerChannel refuses ${name}`, async () => {
      const host = await createHost(
        { privateKey: await generateKeyPair('Ed25519'), listen: [], nodeSetPeers: [], allow: [] },
        { log: recorder() },
      );
      hosts.push(host);
      const spec: ChannelSpec = { ...good(), ...patch };
      await expect(registerChannel(host.libp2p, spec, { log: recorder() })).rejects.toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
      expect(host.libp2p.getProtocols()).not.toContain(CHANNEL_PROTOCOL);
    });
  }

  it('registerChannel refuses an unknown deps key', async () => {
    const host = await createHost(
      { privateKey: await generateKeyPair('Ed25519'), listen: [], nodeSetPeers: [], allow: [] },
      { log: recorder() },
    );
    hosts.push(host);
    const deps = { log: recorder(), metrics: {} } as unknown as {
      log: ReturnType<typeof recorder>;
    };
    await expect(registerChannel(host.libp2p, good(), deps)).rejects.toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});

describe('the client pool over the channel', () => {
  function entryOf(node: Served): NodeEntry {
    const peerId = node.host.peerId.toString();
    return {
      index: 1,
      peerId,
      nodePublicKey: peerIdFromString(peerId).publicKey?.raw ?? new Uint8Array(32),
      multiaddrs: [node.addr.toString()],
      kemPublicKey: new Uint8Array(1216),
    };
  }

  it('serves a burst of first requests on one connection, over one channel', async () => {
    const node = await serve({ info: echo }, { maxInFlight: 32, maxInboundStreams: 4 });
    const c = await client();
    const entry = entryOf(node);
    const pool = new ConnectionPool(c, [entry]);
    const replies = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        pool.request(entry, 'info', Uint8Array.of(i), { signal: AbortSignal.timeout(WAIT_MS) }),
      ),
    );
    expect(replies.map((r) => (r.status === 'fulfilled' ? [...r.value] : 'failed'))).toEqual(
      Array.from({ length: 16 }, (_, i) => [i]),
    );
    const connections = c.getConnections();
    expect(connections).toHaveLength(1);
    const channels = connections[0]?.streams.filter((s) => s.protocol === CHANNEL_PROTOCOL) ?? [];
    expect(channels).toHaveLength(1);
  });

  it('replaces a channel the node reset with ONE new channel, however many requests are waiting', async () => {
    const node = await serve({ info: echo }, { maxInFlight: 32, maxInboundStreams: 4 });
    const c = await client();
    const entry = entryOf(node);
    const pool = new ConnectionPool(c, [entry]);
    const one = (i: number): Promise<Uint8Array> =>
      pool.request(entry, 'info', Uint8Array.of(i), { signal: AbortSignal.timeout(WAIT_MS) });
    expect(await one(0)).toEqual(Uint8Array.of(0));
    // The node resets the channel; the connection stays up.
    const [served] = node.host.libp2p.getConnections();
    for (const s of served?.streams ?? [])
      if (s.protocol === CHANNEL_PROTOCOL) s.abort(new Error('node reset the channel'));
    const [connection] = c.getConnections();
    await until(() => connection?.streams.every((s) => s.protocol !== CHANNEL_PROTOCOL) === true);
    for (let round = 1; round <= 3; round++) {
      const replies = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => one(i)));
      expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 'fulfilled'));
    }
    expect(c.getConnections()).toEqual([connection]);
    const open = connection?.streams.filter((s) => s.protocol === CHANNEL_PROTOCOL) ?? [];
    expect(open).toHaveLength(1);
  });
});
