// Admission control under a slow-loris attack (DESIGN.md, "Admission
// control"), over real TCP on loopback: 200 sockets that connect and never
// start the handshake, each from its own source address (127.0.0.2 …), so
// the per-IP connection rate does not stop them and they really occupy
// pending-upgrade slots; plus 10 libp2p clients that drip a request one byte
// every 100 ms. Meanwhile an honest client's request must complete. The
// control case shows the attack is real: with libp2p's own defaults (10
// pending upgrades, 10 s upgrade timeout) the same sockets lock it out.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  INBOUND_CONNECTIONS_PER_IP_PER_SECOND,
  createHost,
  readFrame,
  registerHandler,
  requestOnce,
  type Host,
  type HostLimits,
  type NetLogger,
} from '../../node/network/index.ts';
import { MAX_FRAME_BYTES, decodeMessage, type RejectionCode } from '../../protocol/internal.ts';

const PROTOCOL = '/qkms/test-echo/1';
const CAP = MAX_FRAME_BYTES.recover;
const ATTACK_SOCKETS = 200;
const DRIP_CLIENTS = 10;
const DRIP_INTERVAL_MS = 100;
/** Body length a drip client announces: at one byte per 100 ms it would take 20 s. */
const DRIP_BODY_BYTES = 200;
/** Short, so the test sees drip streams cut off; the daemon sets its own per protocol. */
const READ_DEADLINE_MS = 1_000;
/** The honest client's whole budget: dial, handshake, request, answer. */
const HONEST_BUDGET_MS = 2_000;
/** libp2p counts new connections per source IP per fixed one-second window. */
const RATE_WINDOW_MS = 1_100;
const WAIT_MS = 15_000;

const quiet: NetLogger = { debug() {}, info() {}, warn() {}, error() {} };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup.length = 0;
});

const sleep = async (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms);
  });

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(20);
  }
}

async function host(listen: string[], limits?: Partial<HostLimits>): Promise<Host> {
  const h = await createHost(
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen,
      nodeSetPeers: [],
      allow: [],
      ...(limits === undefined ? {} : { limits }),
    },
    { log: quiet },
  );
  cleanup.push(() => h.close());
  return h;
}

/** A node serving an echo protocol with a short read deadline. */
async function node(limits?: Partial<HostLimits>): Promise<{ host: Host; addr: Multiaddr }> {
  const h = await host(['/ip4/127.0.0.1/tcp/0'], limits);
  await registerHandler(
    h.libp2p,
    {
      protocol: PROTOCOL,
      maxFrameBytes: CAP,
      readDeadlineMs: READ_DEADLINE_MS,
      maxInboundStreams: 8,
      handle: async (request) => Promise.resolve(request),
    },
    { log: quiet },
  );
  const [addr] = h.libp2p.getMultiaddrs();
  if (addr === undefined) throw new Error('node is not listening');
  return { host: h, addr };
}

function tcpPort(addr: Multiaddr): number {
  const port = addr.getComponents().find((c) => c.name === 'tcp')?.value;
  if (port === undefined) throw new Error('no tcp port');
  return Number(port);
}

interface IdleSockets {
  readonly sockets: net.Socket[];
  /** How many the node has closed so far. */
  closed(): number;
}

/** `n` sockets that connect and then say nothing, one per source address 127.0.0.2 …. */
async function idleSockets(port: number, n: number): Promise<IdleSockets> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  const connected = Array.from({ length: n }, async (_, i) => {
    const localAddress = `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.on('error', () => {}); // a refused socket is reset: expected in the control case
    socket.on('close', () => {
      closed++;
    });
    await new Promise<void>((resolve) => {
      socket.once('connect', resolve);
      socket.once('close', () => {
        resolve();
      });
    });
  });
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
  });
  await Promise.all(connected);
  return { sockets, closed: () => closed };
}

/** The unsigned varint of `n`. */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

interface Drip {
  /** The code of every answer a drip stream got, in order. */
  readonly answers: RejectionCode[];
  stop(): Promise<void>;
}

/** A client that keeps opening streams and dripping a request into each, one byte per interval. */
function drip(client: Host, addr: Multiaddr): Drip {
  const answers: RejectionCode[] = [];
  const stopping = new AbortController();
  const loop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let stream: Stream | undefined;
      try {
        stream = await client.libp2p.dialProtocol(addr, PROTOCOL, { signal: stopping.signal });
        const s = stream;
        const answered = new AbortController();
        const answer = readFrame(s, 1024, stopping.signal).then(
          (bytes) => {
            answers.push(decodeMessage(bytes, 1024, ['reject']).code);
          },
          () => {
            // stopped, or the stream was reset: open the next one
          },
        );
        void answer.finally(() => {
          answered.abort();
        });
        s.send(varint(DRIP_BODY_BYTES));
        // Read through functions: the flags flip in callbacks the type checker cannot see.
        const waiting = (): boolean => !answered.signal.aborted && !stopping.signal.aborted;
        while (waiting()) {
          await sleep(DRIP_INTERVAL_MS);
          if (waiting() && s.writeStatus === 'writable') s.send(Uint8Array.of(0x2a));
        }
        await answer;
      } catch {
        // the dial was stopped or the send raced a reset: open the next one
      } finally {
        stream?.abort(new Error('drip done'));
      }
    }
  };
  const running = loop();
  return {
    answers,
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}

describe('slow-loris', () => {
  it('serves an honest client while 200 idle sockets and 10 dripping clients hold on', async () => {
    const { addr } = await node();

    // Drip clients connect from 127.0.0.1 like the honest one, so they join in
    // batches that respect the per-IP connection rate, then wait one window.
    const drips: Drip[] = [];
    for (let i = 0; i < DRIP_CLIENTS; i++) {
      if (i > 0 && i % (INBOUND_CONNECTIONS_PER_IP_PER_SECOND - 1) === 0)
        await sleep(RATE_WINDOW_MS);
      const client = await host([]);
      await client.libp2p.dial(addr, { signal: AbortSignal.timeout(WAIT_MS) });
      drips.push(drip(client, addr));
    }
    cleanup.push(async () => {
      await Promise.all(drips.map((d) => d.stop()));
    });
    await sleep(RATE_WINDOW_MS);

    const idle = await idleSockets(tcpPort(addr), ATTACK_SOCKETS);
    expect(idle.closed()).toBe(0);

    const honest = await host([]);
    const body = Uint8Array.from({ length: 64 }, (_, i) => i);
    const reply = await requestOnce(honest.libp2p, addr, PROTOCOL, body, {
      signal: AbortSignal.timeout(HONEST_BUDGET_MS),
      maxReplyBytes: CAP,
    });
    expect(reply).toEqual(body);
    // The node served the honest client while holding every idle socket open.
    expect(idle.closed()).toBe(0);

    // Every drip stream is cut off by the read deadline, and only by it.
    await until(() => drips.every((d) => d.answers.length > 0));
    for (const d of drips) expect(new Set(d.answers)).toEqual(new Set(['TIMEOUT']));
  });

  it("control: with libp2p's defaults (10 pending upgrades, 10 s timeout) the same sockets lock the honest client out", async () => {
    const { addr } = await node({
      maxIncomingPendingConnections: 10,
      inboundUpgradeTimeoutMs: 10_000,
    });
    const idle = await idleSockets(tcpPort(addr), ATTACK_SOCKETS);
    const honest = await host([]);
    await expect(
      requestOnce(honest.libp2p, addr, PROTOCOL, Uint8Array.of(1), {
        signal: AbortSignal.timeout(HONEST_BUDGET_MS),
        maxReplyBytes: CAP,
      }),
    ).rejects.toThrow();
    // All but the ten pending slots were refused at once.
    await until(() => idle.closed() >= ATTACK_SOCKETS - 10);
    expect(idle.closed()).toBe(ATTACK_SOCKETS - 10);
  });
});
