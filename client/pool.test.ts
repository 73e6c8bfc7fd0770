// ConnectionPool across node sets, without sockets: a stand-in libp2p whose
// dial records the addresses and refuses. What is proved: the pool keys by
// PeerId — a node of a successor is unknown until addNodes, then dialled at
// the successor's addresses — and an address naming another PeerId is refused
// before any node of the set is added.
import type { Libp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { ErrorCode, requireNativeSuite, type NodeEntry } from '../protocol/internal.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import { freshNodeKeys, successorOf } from '../test/support/reshare-fixture.ts';
import { ConnectionPool } from './pool.ts';

const suite = requireNativeSuite();
const old = quorumFixture(suite, 5, 3);
const next = successorOf(suite, old, [...old.nodes, freshNodeKeys(suite, 1)], 4).handover.to;

function recordingLibp2p(): { libp2p: Libp2p; dialed: string[][] } {
  const dialed: string[][] = [];
  const libp2p = {
    dial: (addrs: readonly { toString(): string }[]) => {
      dialed.push(addrs.map((a) => a.toString()));
      return Promise.reject(new Error('dial refused'));
    },
  } as unknown as Libp2p;
  return { libp2p, dialed };
}

function ask(pool: ConnectionPool, node: NodeEntry): Promise<unknown> {
  return pool
    .request(node, 'info', Uint8Array.of(), { signal: AbortSignal.timeout(1_000) })
    .catch((e: unknown) => e);
}

describe('ConnectionPool: node sets', () => {
  it("reaches a successor's nodes only once added, at the successor's addresses", async () => {
    const { libp2p, dialed } = recordingLibp2p();
    const pool = new ConnectionPool(libp2p, old.nodeSet.nodes);
    const joiner = next.node(6)!;
    expect(await ask(pool, joiner)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(dialed).toHaveLength(0);
    pool.addNodes(next.nodes);
    expect(await ask(pool, joiner)).toMatchObject({ message: 'dial refused' });
    expect(dialed[0]?.[0]).toContain(joiner.multiaddrs[0]);
    // A peer in both sets is one pool entry, dialled at the newest set's address.
    await ask(pool, old.nodeSet.node(1)!);
    expect(dialed[1]?.[0]).toContain(next.node(1)!.multiaddrs[0]);
  });

  it('refuses a set with an address naming another PeerId, adding none of its nodes', async () => {
    const { libp2p } = recordingLibp2p();
    const pool = new ConnectionPool(libp2p, old.nodeSet.nodes);
    const [a, b] = next.nodes.slice(4);
    const bad = { ...b!, multiaddrs: [`/ip4/127.0.0.1/tcp/1/p2p/${a!.peerId}`] };
    expect(() => {
      pool.addNodes([a!, bad]);
    }).toThrow();
    expect(await ask(pool, next.node(6)!)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});
