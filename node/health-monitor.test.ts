// The threshold monitor an operator pages on: a node of a 2-of-3 set is at
// risk until it reaches both peers (itself plus one is t: one more loss
// leaves fewer than t), the gauges follow libp2p's connection events, stop
// following them at shutdown, and `qkms node status` gets the same view.
import type { Libp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { requireNativeSuite } from '../protocol/internal.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import { HealthMonitor } from './health-monitor.ts';
import { createNodeMetrics } from './metrics.ts';

/** A libp2p that reports connections to the PeerIds in `connected`, and emits connection events. */
function fakeLibp2p(connected: Set<string>): Libp2p & EventTarget {
  const events = new EventTarget();
  return Object.assign(events, {
    getConnections: (peer?: { toString(): string }) =>
      peer === undefined
        ? [...connected].map((p) => ({ remotePeer: p }))
        : connected.has(peer.toString())
          ? [{ remotePeer: peer.toString() }]
          : [],
  }) as unknown as Libp2p & EventTarget;
}

async function gauge(g: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await g.get()).values[0]?.value ?? Number.NaN;
}

describe('HealthMonitor', () => {
  it('is at risk while the node reaches at most t - 1 peers, and follows connection events', async () => {
    const { nodeSet } = quorumFixture(requireNativeSuite(), 3, 2);
    const [, second, third] = nodeSet.nodes;
    const connected = new Set<string>();
    const libp2p = fakeLibp2p(connected);
    const metrics = createNodeMetrics({ defaultMetrics: false });
    const monitor = new HealthMonitor({
      libp2p,
      nodeSet,
      selfIndex: 1,
      metrics,
      revocations: () => 5,
      revocationLagMs: () => null,
      auditHead: () => 9,
    });
    const root = new AbortController();
    monitor.start(root.signal);
    expect(await gauge(metrics.quorumAtRisk)).toBe(1);
    connected.add(second?.peerId ?? '');
    expect(monitor.update()).toEqual([2]);
    expect(await gauge(metrics.quorumAtRisk)).toBe(1);
    connected.add(third?.peerId ?? '');
    libp2p.dispatchEvent(new Event('connection:open'));
    expect(await gauge(metrics.connections)).toBe(2);
    await new Promise((r) => setTimeout(r, 5));
    expect(await gauge(metrics.quorumPeersReachable)).toBe(2);
    expect(await gauge(metrics.quorumAtRisk)).toBe(0);
    metrics.sharesStored.set(3);
    expect(await monitor.health()).toEqual({
      peers: [2, 3],
      revocations: 5,
      revocationLagMs: null,
      shares: 3,
      auditHead: 9,
    });
    // After shutdown, events no longer move the gauges.
    root.abort();
    connected.clear();
    libp2p.dispatchEvent(new Event('connection:close'));
    expect(await gauge(metrics.connections)).toBe(2);
  });
});
