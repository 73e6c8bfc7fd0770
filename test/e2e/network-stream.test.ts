// Long file: one e2e suite of the stream template, each limit and refusal against real hosts.
// The handler template and requestOnce between real hosts over TCP on
// loopback: answers arrive through Noise from the pinned PeerId, rejections
// carry a code and never our text, the cap is judged from the prefix, the
// read deadline ends a stalled request, libp2p enforces the stream limit,
// and node-only protocols refuse outsiders.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  QkmsError,
  SUPPORTED_VERSIONS,
  decodeMessage,
  utf8,
  type RejectionCode,
} from '../../protocol/internal.ts';
import { requestOnce } from '../../node/network/dial.ts';
import { readFrame } from '../../node/network/frame.ts';
import { createHost, type Host, type HostOptions } from '../../node/network/host.ts';
import type { NetLogger } from '../../node/network/net-logger.ts';
import { recorder } from '../support/net-recorder.ts';
import {
  registerHandler,
  registerNodeOnly,
  type HandlerSpec,
  type RequestOutcome,
} from '../../node/network/stream.ts';

const PROTOCOL = '/qkms/test/1';
const CAP = MAX_FRAME_BYTES.info;
/** Generous: the tests assert codes, not times; this only bounds a broken run. */
const WAIT_MS = 10_000;

let hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  hosts = [];
});

async function host(options: Partial<HostOptions> = {}): Promise<Host> {
  const h = await createHost(
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      nodeSetPeers: [],
      allow: [],
      ...options,
    },
    { log: recorder() },
  );
  hosts.push(h);
  return h;
}

const client = async (): Promise<Host> => host({ listen: [] });

function addressOf(h: Host): Multiaddr {
  const [addr] = h.libp2p.getMultiaddrs();
  if (addr === undefined) throw new Error('host is not listening');
  return addr;
}

interface Served {
  readonly log: ReturnType<typeof recorder>;
  readonly outcomes: RequestOutcome[];
}

async function serve(
  server: Host,
  spec: Partial<HandlerSpec> & Pick<HandlerSpec, 'handle'>,
): Promise<Served> {
  const log = recorder();
  const outcomes: RequestOutcome[] = [];
  await registerHandler(
    server.libp2p,
    {
      protocol: PROTOCOL,
      maxFrameBytes: CAP,
      readDeadlineMs: WAIT_MS,
      maxInboundStreams: 8,
      ...spec,
    },
    { log, onRequest: (_p, outcome) => outcomes.push(outcome) },
  );
  return { log, outcomes };
}

async function ask(from: Host, to: Host, body: Uint8Array): Promise<Uint8Array> {
  return requestOnce(from.libp2p, addressOf(to), PROTOCOL, body, {
    signal: AbortSignal.timeout(WAIT_MS),
    maxReplyBytes: CAP,
  });
}

function rejectionOf(reply: Uint8Array): { code: RejectionCode; versions?: readonly number[] } {
  return decodeMessage(reply, CAP, ['reject']);
}

/** The unsigned varint of `n` (the frame prefix alone). */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

/** A raw stream of PROTOCOL from `from` to `to`, for writing bytes a good client never would. */
async function rawStream(from: Host, to: Host): Promise<Stream> {
  return from.libp2p.dialProtocol(addressOf(to), PROTOCOL, {
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('one request, one answer', () => {
  it('round-trips a request through the handler, naming the Noise-authenticated peer', async () => {
    const server = await host();
    const peer = await client();
    let seenPeer = '';
    const { outcomes } = await serve(server, {
      handle: async (request, ctx) => {
        seenPeer = ctx.remotePeer;
        return Promise.resolve(request.map((b) => b ^ 0xff));
      },
    });
    const reply = await ask(peer, server, Uint8Array.of(1, 2, 3));
    expect(reply).toEqual(Uint8Array.of(0xfe, 0xfd, 0xfc));
    expect(seenPeer).toBe(peer.peerId.toString());
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['ok']);
  });

  it('fails to dial the right address under the wrong PeerId (Noise pins the key)', async () => {
    const server = await host();
    const impostor = await generateKeyPair('Ed25519');
    const wrong = addressOf(server)
      .decapsulateCode(421)
      .encapsulate(`/p2p/${peerIdFromPrivateKey(impostor).toString()}`);
    await serve(server, { handle: async (r) => Promise.resolve(r) });
    const peer = await client();
    await expect(
      requestOnce(peer.libp2p, wrong, PROTOCOL, Uint8Array.of(1), {
        signal: AbortSignal.timeout(WAIT_MS),
        maxReplyBytes: CAP,
      }),
    ).rejects.toThrow(expect.objectContaining({ name: 'EncryptionFailedError' }));
  });

  it('refuses a target multiaddr that pins no PeerId', async () => {
    const server = await host();
    const peer = await client();
    const unpinned = multiaddr(
      addressOf(server)
        .toString()
        .replace(/\/p2p\/.*$/, ''),
    );
    await expect(
      requestOnce(peer.libp2p, unpinned, PROTOCOL, Uint8Array.of(1), {
        signal: AbortSignal.timeout(WAIT_MS),
        maxReplyBytes: CAP,
      }),
    ).rejects.toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('refuses an answer over the caller’s cap (TOO_LARGE at the client)', async () => {
    const server = await host();
    await serve(server, { handle: async () => Promise.resolve(new Uint8Array(100)) });
    const peer = await client();
    await expect(
      requestOnce(peer.libp2p, addressOf(server), PROTOCOL, Uint8Array.of(1), {
        signal: AbortSignal.timeout(WAIT_MS),
        maxReplyBytes: 99,
      }),
    ).rejects.toThrow(expect.objectContaining({ code: ErrorCode.TOO_LARGE }));
  });
});

describe('handler errors become codes, never text', () => {
  it('answers reject REPLAYED for a QkmsError REPLAYED', async () => {
    const server = await host();
    const { outcomes } = await serve(server, {
      handle: () => Promise.reject(new QkmsError(ErrorCode.REPLAYED, 'nonce seen before')),
    });
    const reply = await ask(await client(), server, Uint8Array.of(1));
    expect(rejectionOf(reply)).toEqual({ type: 'reject', code: 'REPLAYED' });
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['REPLAYED']);
  });

  it('answers reject UNSUPPORTED_VERSION naming the versions the node speaks', async () => {
    const server = await host();
    await serve(server, {
      handle: () => Promise.reject(new QkmsError(ErrorCode.UNSUPPORTED_VERSION, 'v: 9')),
    });
    const reply = await ask(await client(), server, Uint8Array.of(1));
    expect(rejectionOf(reply)).toEqual({
      type: 'reject',
      code: 'UNSUPPORTED_VERSION',
      versions: SUPPORTED_VERSIONS,
    });
  });

  it('answers reject INTERNAL for a plain Error, logs it, and sends none of its text', async () => {
    const server = await host();
    const secret = 'storage key 7f3a is corrupt';
    const { log, outcomes } = await serve(server, {
      handle: () => Promise.reject(new Error(secret)),
    });
    const reply = await ask(await client(), server, Uint8Array.of(1));
    expect(rejectionOf(reply).code).toBe('INTERNAL');
    expect(Buffer.from(reply).includes(Buffer.from(utf8(secret)))).toBe(false);
    expect(Buffer.from(reply).includes(Buffer.from('storage'))).toBe(false);
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['INTERNAL']);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'error', ctx: expect.objectContaining({ reason: secret }) }),
    );
  });

  it('answers reject INTERNAL for a QkmsError whose code is local (never crosses the wire)', async () => {
    const server = await host();
    await serve(server, {
      handle: () => Promise.reject(new QkmsError(ErrorCode.STORE_CORRUPT, 'value failed auth')),
    });
    const reply = await ask(await client(), server, Uint8Array.of(1));
    expect(rejectionOf(reply).code).toBe('INTERNAL');
  });
});

describe('framing limits', () => {
  it('answers TOO_LARGE to a bare length prefix of cap + 1, never waiting for the body', async () => {
    const server = await host();
    let called = false;
    // A deadline far longer than the client waits: the answer cannot be the deadline's.
    const { outcomes } = await serve(server, {
      readDeadlineMs: 60_000,
      handle: async () => {
        called = true;
        return Promise.resolve(new Uint8Array(0));
      },
    });
    const stream = await rawStream(await client(), server);
    stream.send(varint(CAP + 1));
    const reply = await readFrame(stream, CAP, AbortSignal.timeout(WAIT_MS));
    expect(rejectionOf(reply).code).toBe('TOO_LARGE');
    expect(called).toBe(false);
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['TOO_LARGE']);
  });

  it('answers MALFORMED to a frame cut short by the client closing its end', async () => {
    const server = await host();
    await serve(server, { handle: async (r) => Promise.resolve(r) });
    const stream = await rawStream(await client(), server);
    stream.send(Uint8Array.of(10, 1, 2, 3));
    await stream.close();
    const reply = await readFrame(stream, CAP, AbortSignal.timeout(WAIT_MS));
    expect(rejectionOf(reply).code).toBe('MALFORMED');
  });

  it('answers TIMEOUT to half a frame followed by silence, after readDeadlineMs', async () => {
    const server = await host();
    const { outcomes } = await serve(server, {
      readDeadlineMs: 300,
      handle: async (r) => Promise.resolve(r),
    });
    const stream = await rawStream(await client(), server);
    stream.send(Uint8Array.of(10, 1, 2, 3)); // 3 of 10 body bytes, then nothing
    const reply = await readFrame(stream, CAP, AbortSignal.timeout(WAIT_MS));
    expect(rejectionOf(reply).code).toBe('TIMEOUT');
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['TIMEOUT']);
  });
});

describe('stream limits', () => {
  it('lets maxInboundStreams concurrent streams in and libp2p resets the extra ones', async () => {
    const server = await host();
    const gate = Promise.withResolvers<undefined>();
    let inside = 0;
    await serve(server, {
      maxInboundStreams: 2,
      handle: async (request) => {
        inside++;
        await gate.promise;
        return request;
      },
    });
    const peer = await client();
    await peer.libp2p.dial(addressOf(server)); // one connection, so all streams share it
    const requests = [1, 2, 3, 4].map((i) =>
      ask(peer, server, Uint8Array.of(i)).then(
        (reply) => ({ ok: true as const, reply }),
        (e: unknown) => ({ ok: false as const, e }),
      ),
    );
    await until(() => inside === 2);
    // The two refused streams settle while the two admitted ones are still held.
    const settled: { ok: boolean }[] = [];
    for (const r of requests) void r.then((x) => settled.push(x));
    await until(() => settled.length === 2);
    expect(settled.every((x) => !x.ok)).toBe(true);
    gate.resolve(undefined);
    const results = await Promise.all(requests);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(results.filter((r) => !r.ok)).toHaveLength(2);
    expect(inside).toBe(2);
  });
});

describe('node-only protocols', () => {
  it('serves a node-set peer and resets a stream from any other peer unread', async () => {
    const member = await client();
    const outsider = await client();
    const server = await host({ nodeSetPeers: [member.peerId] });
    const log = recorder();
    const outcomes: RequestOutcome[] = [];
    let calls = 0;
    await registerNodeOnly(
      server,
      {
        protocol: PROTOCOL,
        maxFrameBytes: CAP,
        readDeadlineMs: WAIT_MS,
        maxInboundStreams: 4,
        handle: async (r) => {
          calls++;
          return Promise.resolve(r);
        },
      },
      { log, onRequest: (_p, o) => outcomes.push(o) },
    );
    expect(server.isNodeSetPeer(member.peerId)).toBe(true);
    expect(server.isNodeSetPeer(outsider.peerId)).toBe(false);
    await expect(ask(outsider, server, Uint8Array.of(1))).rejects.toThrow();
    expect(await ask(member, server, Uint8Array.of(2))).toEqual(Uint8Array.of(2));
    await until(() => outcomes.length === 2);
    expect(outcomes.sort()).toEqual(['ok', 'refused']);
    expect(calls).toBe(1);
  });
});

describe('option bags refuse what would weaken a limit', () => {
  const good = (): HandlerSpec => ({
    protocol: PROTOCOL,
    maxFrameBytes: CAP,
    readDeadlineMs: 1_000,
    maxInboundStreams: 4,
    handle: async (r) => Promise.resolve(r),
  });
  const bad: [string, Record<string, unknown>][] = [
    ['an unknown key', { maxInboundStream: 4 }],
    ['a protocol without a leading slash', { protocol: 'qkms/test/1' }],
    ['a zero frame cap', { maxFrameBytes: 0 }],
    ['a frame cap no 4-byte prefix can express', { maxFrameBytes: 2 ** 28 }],
    ['a fractional deadline', { readDeadlineMs: 1.5 }],
    ['a deadline over a minute', { readDeadlineMs: 60_001 }],
    ['a string stream limit', { maxInboundStreams: '4' }],
    ['a zero stream limit', { maxInboundStreams: 0 }],
    ['a zero outbound stream limit', { maxOutboundStreams: 0 }],
  ];
  for (const [name, patch] of bad) {
    it(`registerHandler refuses ${name}`, async () => {
      const server = await host({ listen: [] });
      const spec: HandlerSpec = { ...good(), ...patch };
      await expect(registerHandler(server.libp2p, spec, { log: recorder() })).rejects.toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    });
  }

  it('registerHandler refuses an unknown deps key', async () => {
    const server = await host({ listen: [] });
    const deps = { log: recorder(), metrics: {} } as unknown as { log: NetLogger };
    await expect(registerHandler(server.libp2p, good(), deps)).rejects.toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });

  const badHost: [string, () => Promise<Partial<HostOptions>>][] = [
    ['an unknown option', () => Promise.resolve({ allowList: [] } as Partial<HostOptions>)],
    [
      'an unknown limit',
      () => Promise.resolve({ limits: { maxPending: 5 } } as Partial<HostOptions>),
    ],
    ['a zero limit', () => Promise.resolve({ limits: { maxConnections: 0 } })],
    ['a non-integer limit', () => Promise.resolve({ limits: { inboundUpgradeTimeoutMs: 0.5 } })],
    ['an allow entry that is not a multiaddr', () => Promise.resolve({ allow: ['10.0.0.1'] })],
    ['a secp256k1 identity', async () => ({ privateKey: await generateKeyPair('secp256k1') })],
  ];
  for (const [name, patch] of badHost) {
    it(`createHost refuses ${name}`, async () => {
      await expect(host({ listen: [], ...(await patch()) })).rejects.toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    });
  }

  it('createHost skips a DNS allow entry with a warning (libp2p allows by IP)', async () => {
    const log = recorder();
    const h = await createHost(
      {
        privateKey: await generateKeyPair('Ed25519'),
        listen: [],
        nodeSetPeers: [],
        allow: ['/dns4/node1.example/tcp/7101', '/ip4/10.0.0.1/tcp/7101'],
      },
      { log },
    );
    hosts.push(h);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', ctx: { addr: '/dns4/node1.example/tcp/7101' } }),
    ]);
  });

  it('close() is idempotent', async () => {
    const h = await host();
    await h.close();
    await h.close();
    expect(h.libp2p.status).toBe('stopped');
  });
});
