// Per-source limits (issue 12 item 4), against in-process daemons over real
// TCP on loopback: a PeerId costs nothing to make, so one host that makes a
// fresh one per connection must still be held to one connection budget and
// one request-rate bucket per source address, while honest clients from
// other addresses and node-set peers from any address are served.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp, type TCPSocketOptions } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, encodeMessage } from '../../protocol/internal.ts';
import { startQuorum, stopQuorum, type Quorum } from '../support/in-process.ts';
import { ask } from '../support/quorum.ts';

/** Generous: bounds a broken run; the tests assert outcomes, never times. */
const WAIT_MS = 15_000;
const PER_IP = 4;
const ATTACKERS = 12;

let q: Quorum | undefined;
const clients: Libp2p[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await stopQuorum(q);
  q = undefined;
});

/** A client with a fresh PeerId whose connections leave from `source`. */
async function client(source = '127.0.0.1'): Promise<Libp2p> {
  const c = await createLibp2p({
    // localAddress is passed through to net.connect; the type lists only a subset.
    transports: [tcp({ dialOpts: { localAddress: source } as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  clients.push(c);
  return c;
}

const info = encodeMessage({ type: 'info' });

/** The answer type to one info request, or 'failed' for a transport failure (refused, reset). */
async function askInfo(c: Libp2p, files: Quorum['files']): Promise<string> {
  try {
    const answer = await ask(c, files, 1, 'info', info, 'info-ok');
    return answer.type === 'reject' ? answer.code : answer.type;
  } catch {
    return 'failed';
  }
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('connections per source address', () => {
  it('refuses connections past the per-IP cap from one address with fresh PeerIds, while another address and a node-set peer on the same address connect', async () => {
    q = await startQuorum(2, 2, {
      node: (i) => (i === 1 ? { args: ['--max-connections-per-ip', String(PER_IP)] } : {}),
    });
    const [node1, node2] = q.nodes;
    if (node1 === undefined || node2 === undefined) throw new Error('quorum not up');
    const files = q.files;
    const target = multiaddr(`${files.nodeSet.nodes[0]?.multiaddrs[0] ?? ''}/p2p/${node1.peerId}`);

    // (a) Twelve identities from 127.0.0.1, each holding its connection open.
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => client()));
    const outcomes: string[] = [];
    for (const a of attackers) outcomes.push(await askInfo(a, files));
    expect(outcomes.filter((o) => o === 'info-ok')).toHaveLength(PER_IP);
    expect(outcomes.filter((o) => o === 'failed')).toHaveLength(ATTACKERS - PER_IP);
    const holding = attackers.filter((a) => a.getConnections().length > 0);
    expect(holding).toHaveLength(PER_IP);

    // (b) An honest client from 127.0.0.2 is served meanwhile.
    const honest = await client('127.0.0.2');
    expect(await askInfo(honest, files)).toBe('info-ok');

    // (c) A node-set peer from the saturated 127.0.0.1 is never refused.
    await node2.disconnect(node1.peerId);
    await node1.disconnect(node2.peerId);
    const syncs = async (): Promise<number> =>
      (await node2.metrics.revocationSyncs.get()).values.find((v) => v.labels.result === 'ok')
        ?.value ?? 0;
    const before = await syncs();
    await node2.revocations.syncNow();
    expect(await syncs()).toBe(before + 1);

    // Closing the attackers' connections gives the address its budget back.
    await Promise.all(holding.map((a) => a.hangUp(target)));
    const late = await client();
    await until(async () => (await askInfo(late, files)) === 'info-ok');
  });
});

describe('request rate per source address', () => {
  it('shares one bucket among fresh PeerIds from one address, and not with another address', async () => {
    const burst = 3;
    q = await startQuorum(2, 2, {
      node: (i) =>
        i === 1 ? { args: ['--per-ip-rate', '0.001', '--per-ip-burst', String(burst)] } : {},
    });
    const files = q.files;
    const outcomes: string[] = [];
    for (let i = 0; i < burst + 3; i++) {
      const c = await client(); // a fresh PeerId each time, and its own connection
      outcomes.push(await askInfo(c, files));
      await c.stop();
    }
    expect(outcomes).toEqual([
      ...Array<string>(burst).fill('info-ok'),
      ...Array<string>(3).fill(ErrorCode.RATE_LIMITED),
    ]);
    expect(await askInfo(await client('127.0.0.2'), files)).toBe('info-ok');
  });
});
