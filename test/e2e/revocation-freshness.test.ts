// Revocation freshness at start (issue 13 item 6, decision 0004 as amended):
// a node is fresh only once it has synced with a majority of the node set
// (itself included) since it started — no grace period. Against real
// in-process daemons on loopback.
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../node/daemon.ts';
import { ErrorCode } from '../../protocol/index.ts';
import {
  newWallet,
  playerSession,
  signedRecoverFrame,
  startQuorum,
  stopNode,
  stopQuorum,
} from '../support/in-process.ts';
import { ask, createClient } from '../support/quorum.ts';

/** A bound far longer than the test: under the old start-up grace the node would count as fresh throughout. */
const LONG_LAG = ['--revocation-max-lag-ms', '600000', '--revocation-refuse-stale'];
const FAST_SYNC = ['--revocation-sync-interval-ms', '150'];

async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function readyz(
  node: Daemon,
): Promise<{ status: number; body: { failing: string[]; reasons?: Record<string, string> } }> {
  const res = await fetch(`http://${node.http.host}:${node.http.port}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { failing: string[]; reasons?: Record<string, string> },
  };
}

describe('revocation freshness at start', () => {
  it('a node restarted while its peers are unreachable is "not yet synced": not ready, refuses with --revocation-refuse-stale, until it syncs with a majority', async () => {
    const q = await startQuorum(3, 2, { node: () => ({ args: [...LONG_LAG, ...FAST_SYNC] }) });
    const libp2p = await createClient();
    try {
      await eventually(() => q.nodes[0]!.revocations.fresh(), 10_000, 'the quorum to sync');
      await stopNode(q, 2);
      await stopNode(q, 3);
      await stopNode(q, 1);
      const node1 = await q.start(1);
      await node1.revocations.syncNow(); // a first round: both peers unreachable

      expect(node1.revocations.state()).toBe('not-yet-synced');
      expect(node1.revocations.fresh()).toBe(false);
      const ready = await readyz(node1);
      expect(ready.status).toBe(503);
      expect(ready.body.failing).toEqual(['revocations']);
      expect(ready.body.reasons?.['revocations']).toMatch(/^revocations not yet synced/);

      const player = await playerSession(q.files.nodeSet, newWallet());
      const frame = async (): Promise<Uint8Array> =>
        signedRecoverFrame(player, 1, new Uint8Array(32).fill(1));
      const refused = await ask(libp2p, q.files, 1, 'recover', await frame(), 'share');
      expect(refused).toMatchObject({ type: 'reject', code: ErrorCode.NOT_READY });

      // One peer back: itself + 1 of 3 is a majority.
      await q.start(2);
      await eventually(() => node1.revocations.fresh(), 10_000, 'node 1 to sync with node 2');
      expect(node1.revocations.state()).toBe('fresh');
      expect((await readyz(node1)).status).toBe(200);
      const served = await ask(libp2p, q.files, 1, 'recover', await frame(), 'share');
      // Past the freshness check: refused only because node 1 holds no such content.
      expect(served).toMatchObject({ type: 'reject', code: ErrorCode.UNKNOWN_CONTENT });

      player.destroy();
    } finally {
      await libp2p.stop();
      await stopQuorum(q);
    }
  });

  it('a quorum whose nodes start one after another, each with no peer up yet, all become fresh and ready: start-up never waits on a sync', async () => {
    const q = await startQuorum(3, 2, { node: () => ({ args: [...LONG_LAG, ...FAST_SYNC] }) });
    try {
      for (const node of q.nodes)
        await eventually(() => node?.revocations.fresh() === true, 10_000, 'every node to sync');
      for (const node of q.nodes) expect((await readyz(node!)).status).toBe(200);
    } finally {
      await stopQuorum(q);
    }
  });
});
