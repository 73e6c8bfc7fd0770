// What the quorum benchmarks that recover (recover.bench.ts, wan.bench.ts) set up the same way:
// sessions of a fresh wallet, one published content, and a recover call that checks the CEK.
import { randomBytes } from 'node:crypto';
import {
  QuorumClient,
  Session,
  walletFromPrivateKey,
  type NodeReport,
} from '../../client/index.ts';
import type { Manifest } from '../../protocol/index.ts';
import { equal } from './fixtures.ts';
import { check } from './harness.ts';
import type { Call } from './load.ts';
import type { Quorum } from './quorum-processes.ts';

const HOUR_MS = 3_600_000;

/** A session of a new wallet on the quorum's node set, for an hour. */
export function benchSession(
  quorum: Quorum,
  actions: readonly ('publish' | 'recover')[],
): Promise<Session> {
  return Session.create({
    wallet: walletFromPrivateKey(randomBytes(32).toString('hex')),
    nodeSet: quorum.files.nodeSet,
    capabilities: { actions, content: 'all' },
    lifetimeMs: HOUR_MS,
  });
}

/**
 * Publishes one open content (every node must store it) and returns a call that recovers it
 * with `player`, failing if the CEK differs; `onReport` sees each recover's per-node report.
 */
export async function publishedRecover(
  client: QuorumClient,
  publisher: Session,
  player: Session,
  onReport?: (report: readonly NodeReport[]) => void,
): Promise<{ manifest: Manifest; recover: Call }> {
  const published = await client.publish(publisher, { policy: { kind: 'open' } });
  check(
    published.receipts.every((r) => r.outcome === 'ok'),
    `every node stored the published share (${published.receipts.map((r) => r.outcome).join(', ')})`,
  );
  const cek = published.cek.slice();
  published.cek.fill(0);
  const recover: Call = async () => {
    const got = await client.recover(published.manifest, player);
    onReport?.(got.report);
    const same = equal(got.cek, cek);
    got.cek.fill(0);
    if (!same) throw new Error('recover returned another CEK');
  };
  return { manifest: published.manifest, recover };
}
