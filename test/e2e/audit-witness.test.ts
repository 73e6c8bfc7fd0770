// Audit heads witnessed by peers (issue 13 item 3, decision 0010), against
// real in-process daemons on loopback: node 1 releases shares and syncs with
// its peers, which keep its signed audit head; then, stopped, its log loses
// its tail — records deleted and the head set back, as someone holding the
// storage key or restoring an old copy would — and its own witness file goes
// too. The cut log passes `qkms audit verify`, yet on restart node 1 learns
// from its peers that they witnessed a later head: it is not ready, naming
// the witness and both seqs, refuses recovers (NOT_READY), and
// `qkms audit verify --against-peers` names the witness.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient } from '../../client/index.ts';
import { decodeAuditRecord } from '../../node/audit/record.ts';
import { AUDIT_WITNESS_FILE } from '../../node/audit/witness-file.ts';
import { DB_DIR, DB_INTEGRITY_DIR, type Daemon } from '../../node/daemon.ts';
import { loadKeystore } from '../../node/keystore.ts';
import { NodeStore } from '../../node/store/index.ts';
import { auditKey } from '../../node/store/keys.ts';
import { ErrorCode, requireNativeSuite } from '../../protocol/index.ts';
import { runCli } from '../support/cli.ts';
import {
  playerSession,
  signedRecoverFrame,
  startQuorum,
  stopNode,
  stopQuorum,
  type Quorum,
} from '../support/in-process.ts';
import { ask, createClient } from '../support/quorum.ts';

const suite = requireNativeSuite();
const ARGS = [
  '--revocation-sync-interval-ms',
  '150',
  '--per-ip-burst',
  '400',
  '--per-peer-burst',
  '400',
  '--per-wallet-burst',
  '400',
];

/** Polls `check` every 25 ms until it holds, or fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Readyz {
  readonly ready: boolean;
  readonly failing: readonly string[];
  readonly reasons?: Record<string, string>;
}

async function readyz(node: Daemon): Promise<{ status: number; body: Readyz }> {
  const res = await fetch(`http://${node.http.host}:${node.http.port}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz };
}

/** A running node's audit head, from its /metrics. */
async function auditHeadOf(node: Daemon): Promise<number> {
  const text = await (await fetch(`http://${node.http.host}:${node.http.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('qkms_audit_head_seq '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** Opens node `dir`'s store (the node stopped) with its keystore. */
async function withStore<T>(dir: string, use: (store: NodeStore) => Promise<T>): Promise<T> {
  const keystore = loadKeystore(dir, { suite });
  const store = await NodeStore.open({
    path: join(dir, DB_DIR),
    storageKey: keystore.storageKey,
    suite,
  });
  keystore.wipe();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Cuts node `dir`'s audit log back to `keep` records: the tail deleted, the head set back. */
async function cutTail(dir: string, keep: number, last: number): Promise<void> {
  await withStore(dir, async (store) => {
    let hash: Uint8Array | undefined;
    for await (const entry of store.auditEntries(keep, { limit: 1 }))
      if ('value' in entry) hash = decodeAuditRecord(entry.value).hash;
    if (hash === undefined) throw new Error(`no record ${keep}`);
    // The store's own write path: a head { keep, hash } with no records.
    await store.appendAudit([], { seq: keep, hash });
  });
  const db = new Level<Uint8Array, Uint8Array>(join(dir, DB_DIR), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    for (let seq = keep + 1; seq <= last; seq++) await db.del(auditKey(seq));
  } finally {
    await db.close();
  }
}

describe('audit heads witnessed by peers (3 nodes, t = 2)', () => {
  let q: Quorum;
  let client: QuorumClient;

  beforeAll(async () => {
    q = await startQuorum(3, 2, { node: () => ({ args: ARGS }) });
    client = await QuorumClient.create({ nodeSet: q.files.nodeSet });
  });

  afterAll(async () => {
    await client.close();
    await stopQuorum(q);
  });

  it('a node restarted with a cut audit log passes audit verify, but is not ready naming the witness, refuses recovers, and fails audit verify --against-peers', async () => {
    const node1 = q.nodes[0]!;
    const dir = q.files.dirs[0]!;
    const publisher = await playerSession(q.files.nodeSet);
    const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
    for (let i = 0; i < 3; i++) (await client.recover(manifest, publisher)).cek.fill(0);
    // A hedged request the client stopped waiting for may still be writing its record at
    // node 1: let its head settle, so that the head the peers witness is the last one.
    let witnessed = await auditHeadOf(node1);
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const now = await auditHeadOf(node1);
      if (now === witnessed) break;
      witnessed = now;
    }

    // Node 1 sends its head to both peers; they keep it.
    await node1.revocations.syncNow();
    await stopNode(q, 1);
    const head = await withStore(dir, async (store) => (await store.auditHead())?.seq ?? 0);
    expect(head).toBe(witnessed);
    expect(head).toBeGreaterThanOrEqual(3); // one publish, at least two releases
    const keep = head - 2;
    await cutTail(dir, keep, head);
    rmSync(join(dir, AUDIT_WITNESS_FILE), { force: true });
    // The whole data directory rolled back (an old backup restored): the store's own
    // integrity mark goes back with it, so only the peers can tell.
    rmSync(join(dir, DB_INTEGRITY_DIR), { recursive: true, force: true });

    // The cut chain is a shorter chain that verifies.
    const plain = await runCli(['audit', 'verify', '--dir', dir, '--json'], { cwd: q.files.root });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ ok: true, head: { seq: keep } });

    const restarted = await q.start(1);
    await eventually(
      async () => (await readyz(restarted)).body.failing.includes('audit-witness'),
      10_000,
      'node 1 to learn what its peers witnessed',
    );
    const { status: code, body } = await readyz(restarted);
    expect(code).toBe(503);
    expect(body.reasons?.['audit-witness']).toMatch(
      new RegExp(`node [23] witnessed this node's head ${head}, its log ends at ${keep}`),
    );

    // Fail closed: no share leaves while the log lacks what a peer witnessed.
    const libp2p = await createClient();
    try {
      const answer = await ask(
        libp2p,
        q.files,
        1,
        'recover',
        await signedRecoverFrame(publisher, 1, manifest.body.contentId),
        'share',
      );
      expect(answer).toMatchObject({ type: 'reject', code: ErrorCode.NOT_READY });
    } finally {
      await libp2p.stop();
    }

    const checked = await runCli(
      [
        'audit',
        'verify',
        '--dir',
        dir,
        '--against-peers',
        '--nodeset',
        q.files.nodeSetPath,
        '--json',
      ],
      { cwd: q.files.root },
    );
    expect(checked.code, checked.stderr).toBe(1);
    const report = JSON.parse(checked.stdout) as {
      ok: boolean;
      head: { seq: number };
      behind: { peer: number; witnessedSeq: number; problem: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.head.seq).toBe(keep);
    expect(report.behind.map((b) => b.peer).sort()).toEqual([2, 3]);
    expect(report.behind.every((b) => b.witnessedSeq === head && b.problem === 'behind')).toBe(
      true,
    );
    const human = await runCli(
      ['audit', 'verify', '--dir', dir, '--against-peers', '--nodeset', q.files.nodeSetPath],
      { cwd: q.files.root },
    );
    expect(human.stdout).toContain(`node 2: witnessed head ${head}`);
    expect(human.stdout).toContain(`this log ends at ${keep}: ROLLED BACK`);
    publisher.destroy();
  });

  it('audit verify --against-peers passes for a node whose log holds every head its peers witnessed', async () => {
    const node2 = q.nodes[1]!;
    await node2.revocations.syncNow();
    const checked = await runCli(
      [
        'audit',
        'verify',
        '--dir',
        q.files.dirs[1]!,
        '--against-peers',
        '--nodeset',
        q.files.nodeSetPath,
      ],
      { cwd: q.files.root },
    );
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/node [13]: witnessed head \d+: held/);
    expect((await readyz(node2)).body.failing).not.toContain('audit-witness');
  });
});
