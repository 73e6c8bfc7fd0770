// Memory a node spends on idle client connections: many small libp2p client hosts (TCP, Noise,
// Yamux: what a player's QuorumClient runs) in this process, each holding one connection to
// one node and sending nothing, and the node's resident memory before and after. A libp2p host
// keeps one connection per peer, so N connections to one node take N hosts.
//
// Every one comes from 127.0.0.1 here (Linux picks that source address for any loopback
// destination, and @libp2p/tcp cannot bind another), and 127.0.0.1 is the node set's address,
// on the node's libp2p allow list: neither the per-IP limit on new inbound connections nor
// --max-connections applies to them (libp2p's acceptIncomingConnection and pruner skip
// allow-listed addresses). The study notes how fast they were accepted, which shows it.
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { createClient } from '../support/quorum.ts';
import { rssMb } from './proc-stats.ts';
import type { Quorum } from './quorum-processes.ts';

/** Dials in flight at once: stays under the node's 256 pending inbound upgrades. */
const DIAL_BATCH = 25;
const DIAL_TIMEOUT_MS = 10_000;
/** After the last dial, before measuring: the node finishes upgrades and settles. */
const SETTLE_MS = 2_000;
/** RSS is read this many times, RSS_INTERVAL_MS apart; the median is kept (a GC moves it). */
const RSS_READS = 5;
const RSS_INTERVAL_MS = 200;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function medianRss(pid: number): Promise<number> {
  const reads: number[] = [];
  for (let i = 0; i < RSS_READS; i++) {
    if (i > 0) await sleep(RSS_INTERVAL_MS);
    reads.push(rssMb(pid));
  }
  reads.sort((a, b) => a - b);
  return reads[Math.floor(reads.length / 2)] ?? 0;
}

export interface IdleConnections {
  /** Connections opened and still open when the node's memory was read. */
  readonly open: number;
  /** Dials that failed (refused, timed out). */
  readonly failed: number;
  /** From the first dial to the last connection up, ms. */
  readonly openMs: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
}

/** Opens `count` idle connections to node `index` (each from its own client host), measures, closes them. */
export async function idleConnections(
  quorum: Quorum,
  index: number,
  count: number,
): Promise<IdleConnections> {
  const node = quorum.node(index);
  const entry = quorum.files.nodeSet.nodes[index - 1];
  if (entry === undefined) throw new Error(`bench: no node ${index} in the node set`);
  const target = multiaddr(`${entry.multiaddrs[0] ?? ''}/p2p/${entry.peerId}`);
  const hosts: Libp2p[] = [];
  try {
    const rssBeforeMb = await medianRss(node.pid);
    let failed = 0;
    const started = performance.now();
    for (let i = 0; i < count; i += DIAL_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(DIAL_BATCH, count - i) }, () => createClient()),
      );
      hosts.push(...batch);
      const dials = await Promise.allSettled(
        batch.map((host) => host.dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })),
      );
      failed += dials.filter((d) => d.status === 'rejected').length;
    }
    const openMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const open = hosts.filter((h) => h.getConnections().some((c) => c.status === 'open')).length;
    const rssAfterMb = await medianRss(node.pid);
    return { open, failed, openMs, rssBeforeMb, rssAfterMb };
  } finally {
    for (let i = 0; i < hosts.length; i += DIAL_BATCH)
      await Promise.all(hosts.slice(i, i + DIAL_BATCH).map((h) => Promise.resolve(h.stop())));
  }
}
