// Long file: every revocation kind and convergence case against one real quorum, started once.
// Revocation against real nodes on loopback (in-process daemons, libp2p over
// TCP): each kind of revocation stops exactly what it names at every node; a
// revocation landing while a request is in flight wins; "effective" with two
// of five nodes down, and the two converge by anti-entropy when they return;
// a partition heals; bad records are refused and a replay is idempotent; an
// acknowledged record survives kill -9; freshness gates readiness; and the
// admin CLI end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, RecoverError, RevokedError, Session } from '../../client/index.ts';
import type { Daemon, DaemonDeps } from '../../node/daemon.ts';
import {
  ErrorCode,
  decodeCanonical,
  encodeCanonical,
  encodeMessage,
  type CborValue,
  requireNativeSuite,
  toHex,
  type Manifest,
} from '../../protocol/internal.ts';
import {
  signRevocation,
  type RevocationBody,
  type RevocationRecord,
} from '../../revocation/index.ts';
import { runCli } from '../support/cli.ts';
import {
  newWallet,
  playerSession,
  signedRecoverFrame,
  startQuorum as startInProcess,
  stopNode,
  stopQuorum,
  type Quorum,
} from '../support/in-process.ts';
import {
  ask,
  createClient,
  createQuorumFiles,
  spawnNode,
  startNode,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
/** Fast anti-entropy for tests: rounds every 150 ms. */
const FAST_SYNC = ['--revocation-sync-interval-ms', '150'];
const ROOMY = ['--per-ip-burst', '400', '--per-peer-burst', '400', '--per-wallet-burst', '400'];
const FAULTS = { QKMS_ENABLE_TEST_FAULTS: '1' };

/** Every node with roomy rates, fast anti-entropy and test faults enabled. */
function startQuorum(
  n: number,
  t: number,
  options: {
    args?: readonly string[];
    admins?: number;
    adminThreshold?: number;
    deps?: (index: number) => DaemonDeps;
  } = {},
): Promise<Quorum> {
  return startInProcess(n, t, {
    ...(options.admins === undefined ? {} : { admins: options.admins }),
    ...(options.adminThreshold === undefined ? {} : { adminThreshold: options.adminThreshold }),
    node: (index) => ({
      args: [...ROOMY, ...FAST_SYNC, ...(options.args ?? [])],
      env: FAULTS,
      ...(options.deps === undefined ? {} : { deps: options.deps(index) }),
    }),
  });
}

const session = playerSession;

/** Sends a record to node `index` on /qkms/revoke; the node's answer. */
function submit(
  libp2p: Parameters<typeof ask>[0],
  files: QuorumFiles,
  index: number,
  record: Uint8Array,
): ReturnType<typeof ask<'revoke-ok'>> {
  return ask(
    libp2p,
    files,
    index,
    'revoke',
    encodeMessage({ type: 'revoke', record }),
    'revoke-ok',
  );
}

function record(
  files: QuorumFiles,
  target: Pick<RevocationBody, 'kind' | 'target' | 'before'>,
  seeds: readonly Uint8Array[] = files.adminSeeds,
): RevocationRecord {
  return signRevocation(
    suite,
    files.nodeSet,
    { nodeSetId: files.nodeSet.id, ...target, issuedAt: Date.now(), reason: 'e2e' },
    seeds,
  );
}

async function expectRevoked(p: Promise<unknown>): Promise<RevokedError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RevokedError) return e;
    throw e;
  }
  throw new Error('expected a RevokedError, but the recover succeeded');
}

/** Polls `check` every 25 ms until it holds, or fails after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A node's qkms_revocation_records_total for one source and result. */
async function counter(node: Daemon, source: string, result: string): Promise<number> {
  const { values } = await node.metrics.revocationRecords.get();
  return (
    values.find((v) => v.labels['source'] === source && v.labels['result'] === result)?.value ?? -1
  );
}

function sizes(q: Quorum): (number | undefined)[] {
  return q.nodes.map((n) => n?.revocations.size());
}

describe('each revocation kind at every node of a 5-node quorum (t = 3)', () => {
  let q: Quorum;
  let client: QuorumClient;
  let publisher: Session;
  let manifest: Manifest;

  beforeAll(async () => {
    q = await startQuorum(5, 3);
    // hedge 2: every recover asks all five nodes at once, so each node's answer is in the report.
    client = await QuorumClient.create({ nodeSet: q.files.nodeSet, hedge: 2 });
    publisher = await session(q.files.nodeSet, newWallet());
    manifest = (await client.publish(publisher, { policy: { kind: 'open' } })).manifest;
  });

  afterAll(async () => {
    publisher.destroy();
    await client.close();
    await stopQuorum(q);
  });

  it('a revoked wallet is refused by every node; another wallet still recovers', async () => {
    const wallet = newWallet();
    const player = await session(q.files.nodeSet, wallet);
    const before = await client.recover(manifest, player);
    before.cek.fill(0);

    const result = await client.revoke(
      record(q.files, { kind: 'wallet', target: player.addressBytes }),
    );
    expect(result.effective).toBe(true);
    expect(result.acknowledged).toBe(5);
    expect(
      result.nodes.map((n) => n.status).every((s) => s === 'stored' || s === 'unchanged'),
    ).toBe(true);

    const refused = await expectRevoked(client.recover(manifest, player));
    expect(refused).toBeInstanceOf(RecoverError);
    expect(refused.code).toBe(ErrorCode.REVOKED);
    expect(refused.report.map((r) => r.code)).toEqual(Array(5).fill(ErrorCode.REVOKED));
    // A new session of the same wallet is the same wallet.
    const again = await session(q.files.nodeSet, wallet);
    await expectRevoked(client.recover(manifest, again));

    const other = await session(q.files.nodeSet, newWallet());
    const ok = await client.recover(manifest, other);
    expect(ok.cek).toHaveLength(32);
    ok.cek.fill(0);
  });

  it('a revoked session key fails; a new session of the same wallet works', async () => {
    const wallet = newWallet();
    const first = await session(q.files.nodeSet, wallet);
    const result = await client.revoke(
      record(q.files, { kind: 'session', target: first.sessionPublicKey }),
    );
    expect(result.effective).toBe(true);
    const refused = await expectRevoked(client.recover(manifest, first));
    expect(refused.report.every((r) => r.code === ErrorCode.REVOKED)).toBe(true);

    const second = await session(q.files.nodeSet, wallet);
    const ok = await client.recover(manifest, second);
    expect(ok.cek).toHaveLength(32);
    ok.cek.fill(0);
  });

  it('a revoked delegation fails; the same wallet with a new delegation works', async () => {
    const wallet = newWallet();
    const first = await session(q.files.nodeSet, wallet);
    const grant = await first.grant();
    expect(
      (await client.revoke(record(q.files, { kind: 'delegation', target: grant.hash }))).effective,
    ).toBe(true);
    await expectRevoked(client.recover(manifest, first));
    const second = await session(q.files.nodeSet, wallet);
    const ok = await client.recover(manifest, second);
    ok.cek.fill(0);
  });

  it('a revoked content id is recovered by nobody, while other content still is', async () => {
    const other = (await client.publish(publisher, { policy: { kind: 'open' } })).manifest;
    expect(
      (await client.revoke(record(q.files, { kind: 'content', target: manifest.body.contentId })))
        .effective,
    ).toBe(true);
    for (const wallet of [newWallet(), newWallet()]) {
      const player = await session(q.files.nodeSet, wallet);
      await expectRevoked(client.recover(manifest, player));
      const ok = await client.recover(other, player);
      ok.cek.fill(0);
    }
    manifest = other;
  });

  it('wallet-sessions-before: sessions delegated before the time fail, those after work', async () => {
    const wallet = newWallet();
    const old = await session(q.files.nodeSet, wallet);
    await old.grant();
    await new Promise((r) => setTimeout(r, 5));
    const cut = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    const fresh = await session(q.files.nodeSet, wallet);
    const result = await client.revoke(
      record(q.files, { kind: 'wallet-sessions-before', target: old.addressBytes, before: cut }),
    );
    expect(result.effective).toBe(true);
    await expectRevoked(client.recover(manifest, old));
    const ok = await client.recover(manifest, fresh);
    ok.cek.fill(0);
  });

  it('forged, unsigned and tampered records are refused; a replayed record is idempotent', async () => {
    const libp2p = await createClient();
    try {
      const held = sizes(q);
      const good = record(q.files, { kind: 'wallet', target: new Uint8Array(20).fill(7) });
      const other = record(q.files, { kind: 'wallet', target: new Uint8Array(20).fill(8) });
      const decoded = decodeCanonical(good.bytes, 1 << 16) as { body: CborValue; sigs: CborValue };
      // Forged: the admin's genuine signature, but over another record's id.
      const forgedBytes = encodeCanonical({
        body: decoded.body,
        sigs: [{ admin: 0, sig: other.signatures[0]?.signature ?? new Uint8Array(0) }],
      });
      // Tampered: one bit of the signature flipped.
      const flipped = (good.signatures[0]?.signature ?? new Uint8Array(0)).slice();
      flipped[100] = (flipped[100] ?? 0) ^ 1;
      const tampered = encodeCanonical({ body: decoded.body, sigs: [{ admin: 0, sig: flipped }] });
      const unsigned = encodeCanonical({ body: decoded.body, sigs: [] });
      for (const bytes of [forgedBytes, tampered, unsigned, new Uint8Array([1, 2, 3])]) {
        const answer = await submit(libp2p, q.files, 1, bytes);
        expect(answer).toMatchObject({ type: 'reject', code: ErrorCode.BAD_REVOCATION });
      }
      expect(sizes(q)).toEqual(held);
      expect(await counter(q.nodes[0]!, 'client', 'invalid')).toBe(4);

      const first = await submit(libp2p, q.files, 2, good.bytes);
      expect(first).toMatchObject({ type: 'revoke-ok', status: 'stored' });
      await eventually(() => sizes(q).every((s, i) => s === (held[i] ?? 0) + 1), 5_000, 'the push');
      const replay = await submit(libp2p, q.files, 2, good.bytes);
      expect(replay).toMatchObject({ type: 'revoke-ok', status: 'unchanged' });
      expect(toHex((replay as { id: Uint8Array }).id)).toBe(toHex(good.id));
      expect(sizes(q)).toEqual(held.map((s) => (s ?? 0) + 1));
      expect(await counter(q.nodes[1]!, 'client', 'unchanged')).toBe(1);
      const { values } = await q.nodes[2]!.metrics.revocations.get();
      expect(values[0]?.value).toBe(q.nodes[2]!.revocations.size());
    } finally {
      await libp2p.stop();
    }
  });
});

/** Released shares each node has recorded, from its /metrics. */
async function sharesReleased(q: Quorum): Promise<number[]> {
  return Promise.all(
    q.nodes.map(async (n) => {
      if (n === undefined) return 0;
      const text = await (await fetch(`http://${n.http.host}:${n.http.port}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('qkms_audit_records_total{kind="share-released"}'));
      return Number(line?.split(' ')[1] ?? 0);
    }),
  );
}

// A revocation that lands while requests are held at a test hook wins: held before
// the second revocation check (step 9), or after the durable custody record (issue 13,
// item 7: the last check comes after it, and the record then names a share never sent).
for (const { hook, held, recordsWritten } of [
  { hook: 'beforeSeal', held: 'before sealing', recordsWritten: 0 },
  { hook: 'afterCustodyRecord', held: 'after their custody records', recordsWritten: 1 },
] as const) {
  describe(`a revocation landing while a request is held ${held}`, () => {
    let q: Quorum;
    let client: QuorumClient;
    let reached = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();

    beforeAll(async () => {
      q = await startQuorum(3, 2, {
        deps: () => ({
          faults: {
            [hook]: async () => {
              reached += 1;
              await gate;
            },
          },
        }),
      });
      client = await QuorumClient.create({ nodeSet: q.files.nodeSet });
    });

    afterAll(async () => {
      release();
      await client.close();
      await stopQuorum(q);
    });

    it('wins: every node passed step 6, then the revocation landed, and no share left', async () => {
      const publisher = await session(q.files.nodeSet, newWallet());
      const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
      const player = await session(q.files.nodeSet, newWallet());
      const before = await sharesReleased(q);
      gate = new Promise((resolve) => {
        release = resolve;
      });
      reached = 0;
      const recovering = client.recover(manifest, player);
      // All three nodes passed step 6 (not revoked then) and wait at the hook.
      await eventually(() => reached === 3, 10_000, `three requests held ${held}`);
      const result = await client.revoke(
        record(q.files, { kind: 'wallet', target: player.addressBytes }),
      );
      expect(result.effective).toBe(true);
      release();
      const refused = await expectRevoked(recovering);
      expect(refused.report.map((r) => r.code)).toEqual(Array(3).fill(ErrorCode.REVOKED));
      const after = await sharesReleased(q);
      expect(after.map((a, i) => a - (before[i] ?? 0))).toEqual(Array(3).fill(recordsWritten));
      publisher.destroy();
    });
  });
}

describe('anti-entropy repairs what a push missed', () => {
  let q: Quorum | undefined;

  afterAll(async () => {
    await stopQuorum(q);
  });

  it('with 2 of 5 nodes down a revocation is effective; they converge on return, no admin action', async () => {
    q = await startQuorum(5, 3);
    const quorum = q;
    const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet, hedge: 2 });
    try {
      const publisher = await session(quorum.files.nodeSet, newWallet());
      const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
      const player = await session(quorum.files.nodeSet, newWallet());
      await stopNode(quorum, 4);
      await stopNode(quorum, 5);

      const result = await client.revoke(
        record(quorum.files, { kind: 'wallet', target: player.addressBytes }),
      );
      expect(result.effective).toBe(true);
      expect(result.acknowledged).toBe(3);
      expect(result.needed).toBe(3);
      const statuses = result.nodes.map((n) => n.status);
      expect(statuses.slice(0, 3).every((st) => st === 'stored' || st === 'unchanged')).toBe(true);
      expect(statuses.slice(3)).toEqual(['unreachable', 'unreachable']);

      await quorum.start(4);
      await quorum.start(5);
      await eventually(
        () => sizes(quorum).every((s) => s === 1),
        10_000,
        'nodes 4 and 5 to converge',
      );

      // Only the two that were down, plus one other, left: they refuse too.
      await stopNode(quorum, 1);
      await stopNode(quorum, 2);
      const refused = await expectRevoked(client.recover(manifest, player));
      expect(
        refused.report.filter((r) => r.code === ErrorCode.REVOKED).map((r) => r.index),
      ).toEqual([3, 4, 5]);
      publisher.destroy();
    } finally {
      await client.close();
    }
  });

  it('a partition during propagation heals and converges', async () => {
    // Nodes 1 and 2 on one side, 3, 4 and 5 on the other; clients reach every node.
    const groupA = new Set<string>();
    const members = new Set<string>();
    let partitioned = false;
    q = await startQuorum(5, 3, {
      deps: (index) => ({
        faults: {
          blocked: (peerId) =>
            partitioned && members.has(peerId) && groupA.has(peerId) !== index <= 2,
        },
      }),
    });
    const quorum = q;
    for (const n of quorum.files.nodeSet.nodes) members.add(n.peerId);
    for (const n of quorum.files.nodeSet.nodes.slice(0, 2)) groupA.add(n.peerId);
    partitioned = true;
    for (const node of quorum.nodes)
      for (const peer of quorum.files.nodeSet.nodes) await node?.disconnect(peer.peerId);

    const libp2p = await createClient();
    try {
      const r = record(quorum.files, { kind: 'content', target: new Uint8Array(32).fill(5) });
      const answer = await submit(libp2p, quorum.files, 1, r.bytes);
      expect(answer).toMatchObject({ type: 'revoke-ok', status: 'stored' });
      // The push reaches node 2, on node 1's side; anti-entropy runs every 150 ms and cannot cross.
      await eventually(() => sizes(quorum)[1] === 1, 5_000, 'node 2 to get the push');
      await new Promise((r2) => setTimeout(r2, 1_000));
      expect(sizes(quorum)).toEqual([1, 1, 0, 0, 0]);

      partitioned = false;
      await eventually(() => sizes(quorum).every((s) => s === 1), 10_000, 'the partition to heal');
    } finally {
      await libp2p.stop();
    }
  });
});

describe('durability and freshness', () => {
  it('a node killed with SIGKILL right after acknowledging keeps the record, and passes it on later', async () => {
    const files = await createQuorumFiles(2, 2);
    const libp2p = await createClient();
    try {
      const first = await spawnNode(files, 1);
      const r = record(files, { kind: 'session', target: new Uint8Array(32).fill(9) });
      const answer = await submit(libp2p, files, 1, r.bytes);
      expect(answer).toMatchObject({ type: 'revoke-ok', status: 'stored' });
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      const second = await spawnNode(files, 1);
      // A new client: the old one's connection died with the killed process.
      const reader = await createClient();
      try {
        const list = await ask(
          reader,
          files,
          1,
          'revoke',
          encodeMessage({ type: 'revocations', after: new Uint8Array(0) }),
          'revocations-ok',
        );
        expect(list.type).toBe('revocations-ok');
        const records = (list as { records: readonly Uint8Array[] }).records;
        expect(records.map((b) => toHex(b))).toEqual([toHex(r.bytes)]);

        // Its push never reached node 2 (down all along); anti-entropy delivers it when node 2 starts.
        const node2 = await startNode(files, 2, { args: FAST_SYNC });
        try {
          await eventually(() => node2.revocations.size() === 1, 10_000, 'node 2 to catch up');
        } finally {
          await node2.close();
        }
      } finally {
        await reader.stop();
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await libp2p.stop();
      files.cleanup();
    }
  });

  it('a node not in sync with a majority is not ready and, if configured, refuses to recover', async () => {
    const q = await startQuorum(3, 2, {
      args: ['--revocation-max-lag-ms', '300', '--revocation-refuse-stale'],
    });
    const libp2p = await createClient();
    try {
      const node1 = q.nodes[0]!;
      await eventually(() => node1.revocations.fresh(), 5_000, 'node 1 to sync first');
      await stopNode(q, 2);
      await stopNode(q, 3);
      await eventually(() => !node1.revocations.fresh(), 5_000, 'node 1 to go stale');
      expect(node1.revocations.state()).toBe('stale');
      const ready = await fetch(`http://${node1.http.host}:${node1.http.port}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { reasons?: Record<string, string> };
      expect(body).toMatchObject({ ready: false, failing: ['revocations'] });
      // Stale (it was in sync, and is no longer), not "not yet synced".
      expect(body.reasons?.['revocations']).toMatch(/^revocations stale: last in sync/);

      const player = await session(q.files.nodeSet, newWallet());
      const answer = await ask(
        libp2p,
        q.files,
        1,
        'recover',
        await signedRecoverFrame(player, 1, new Uint8Array(32).fill(1)),
        'share',
      );
      expect(answer).toMatchObject({ type: 'reject', code: ErrorCode.NOT_READY });

      // One peer back: itself + 1 of 3 is a majority again.
      await q.start(2);
      await eventually(() => node1.revocations.fresh(), 5_000, 'node 1 to be fresh again');
      const again = await fetch(`http://${node1.http.host}:${node1.http.port}/readyz`);
      expect(again.status).toBe(200);
      const served = await ask(
        libp2p,
        q.files,
        1,
        'recover',
        await signedRecoverFrame(player, 1, new Uint8Array(32).fill(1)),
        'share',
      );
      expect(served).toMatchObject({ type: 'reject', code: ErrorCode.UNKNOWN_CONTENT });
      player.destroy();
    } finally {
      await libp2p.stop();
      await stopQuorum(q);
    }
  });
});

describe('qkms admin revoke and qkms admin revocations', () => {
  let q: Quorum;

  beforeAll(async () => {
    q = await startQuorum(3, 2, { admins: 2, adminThreshold: 2 });
  });

  afterAll(async () => {
    await stopQuorum(q);
  });

  const cli = (argv: readonly string[]) => runCli(argv, { cwd: q.files.root });

  it('two admins sign in turn; the record is sent once it carries both signatures', async () => {
    const wallet = '0x' + 'ab'.repeat(20);
    const [key0, key1] = q.files.adminKeyFiles;
    const base = ['admin', 'revoke', '--quorum', q.files.nodeSetPath];

    const alone = await cli([...base, '--admin-key', key0!, '--wallet', wallet]);
    expect(alone.code).toBe(3);
    expect(alone.stdout).toContain('carries 1 of 2 admin signatures; not sent');

    const first = await cli([
      ...base,
      '--admin-key',
      key0!,
      '--wallet',
      wallet,
      '--reason',
      'lost phone',
      '--out',
      'rec.json',
    ]);
    expect(first.code).toBe(0);
    expect(sizes(q)).toEqual([0, 0, 0]);

    const second = await cli([...base, '--admin-key', key1!, '--record', 'rec.json', '--json']);
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout) as { record: { id: string } };
    // --json names the record in full; the line for a person shortens it.
    expect(out.record.id).toMatch(/^[0-9a-f]{64}$/);
    const id = out.record.id;
    expect(second.stderr).toBe(
      `sending revocation ${id.slice(0, 8)}…${id.slice(-4)} to 3 nodes…\n`,
    );
    expect(out).toMatchObject({ sent: true, effective: true, acknowledged: 3, needed: 2 });
    expect(out.record).toMatchObject({ kind: 'wallet', reason: 'lost phone', signatures: [0, 1] });
    // Scripts get the target in full on stdout; the line for a person never has it.
    expect(out.record).toMatchObject({ target: 'ab'.repeat(20) });
    expect(second.stderr).not.toContain('ab'.repeat(20));
    expect(sizes(q)).toEqual([1, 1, 1]);

    const list = await cli([
      'admin',
      'revocations',
      '--quorum',
      q.files.nodeSetPath,
      '--node',
      '3',
    ]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('wallet abababab…abab');
    expect(list.stdout).toContain('node 3 holds 1 revocation');
    expect(list.stdout).not.toContain('ab'.repeat(20));
  });

  it('refuses two targets, and exits 4 when too few nodes acknowledge in time', async () => {
    const [key0, key1] = q.files.adminKeyFiles;
    const base = [
      'admin',
      'revoke',
      '--quorum',
      q.files.nodeSetPath,
      '--admin-key',
      key0!,
      '--admin-key',
      key1!,
    ];
    const two = await cli([
      ...base,
      '--wallet',
      '0x' + '01'.repeat(20),
      '--content',
      '02'.repeat(32),
    ]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('name one target');

    await stopNode(q, 2);
    await stopNode(q, 3);
    const short = await cli([...base, '--content', '03'.repeat(32), '--timeout-ms', '2000']);
    expect(short.code).toBe(4);
    expect(short.stdout).toContain('node 1  stored durably');
    expect(short.stdout).toContain('node 2  unreachable');
    expect(short.stdout).toContain('NOT effective: 1 of 3 nodes hold it, 2 needed');
  });
});
