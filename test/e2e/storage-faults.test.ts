// Storage faults against a real node process (issue 13, items 1-2; decision
// 0008): a data dir on a real tmpfs filled until ENOSPC loses no write the
// node acknowledged, across a clean restart; bytes flipped in LevelDB's
// newest .log while the node is stopped make it come back not ready, naming
// the audit range and the contents it lost, instead of answering
// UNKNOWN_CONTENT for content it had acknowledged.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readSync,
  writeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  statfsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumClient, RecoverError, type Session } from '../../client/index.ts';
import { verifyChain } from '../../node/audit/verify.ts';
import type { Daemon } from '../../node/daemon.ts';
import { ErrorCode, requireNativeSuite, toHex, type Manifest } from '../../protocol/index.ts';
import { runCli } from '../support/cli.ts';
import { playerSession } from '../support/in-process.ts';
import {
  createQuorumFiles,
  spawnNode,
  startNode,
  withNodeStore,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
/** Small enough to fill in a moment, big enough for a node's LevelDB. */
const TMPFS_SIZE = '24m';
/** Bounded polling: steps of POLL_MS, never asserted on. */
const POLL_MS = 50;
const POLL_STEPS = 400;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // the test's own failure is the one to report
    }
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Moves node `index`'s data dir onto its own tmpfs (its keystore copied across). */
function mountNodeDirOnTmpfs(files: QuorumFiles, index: number): string {
  const dir = files.dirs[index - 1]!;
  const staged = mkdtempSync(join(tmpdir(), 'qkms-stage-'));
  cpSync(dir, staged, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', dir]);
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir]);
  });
  cpSync(staged, dir, { recursive: true });
  rmSync(staged, { recursive: true, force: true });
  return dir;
}

/** Writes zeros into `dir/filler` until the file system refuses (ENOSPC). */
function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const dd = spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { encoding: 'utf8' });
  expect(dd.stderr).toMatch(/No space left on device/);
  expect(statfsSync(dir).bavail).toBe(0);
  return filler;
}

function httpOf(node: NodeProcess): string {
  const m = / metrics (http:\/\/[\d.]+:\d+)\/metrics/.exec(node.ready);
  if (m === null) throw new Error(`no metrics address in ${node.ready}`);
  return m[1]!;
}

async function readyz(base: string): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

interface ReadyBody {
  ready: boolean;
  failing: string[];
  reasons?: Record<string, string>;
}

async function auditHeadMetric(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('qkms_audit_head_seq '));
  if (line === undefined) throw new Error('no qkms_audit_head_seq');
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function stopProcess(node: NodeProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  expect(await node.exited).toBe(0);
}

/** Node `index`'s outcome in a recover attempt: 'ok' or its rejection code / outcome. */
async function recoverOutcome(
  client: QuorumClient,
  manifest: Manifest,
  player: Session,
  index: number,
): Promise<string> {
  try {
    const { cek } = await client.recover(manifest, player);
    cek.fill(0);
    return 'ok';
  } catch (e) {
    if (!(e instanceof RecoverError)) throw e;
    const r = e.report.find((n) => n.index === index);
    return r?.code ?? r?.outcome ?? 'none';
  }
}

async function startQuorum(
  files: QuorumFiles,
): Promise<{ node1: NodeProcess; node2: Daemon; client: QuorumClient }> {
  const node1 = await spawnNode(files, 1);
  cleanups.push(() => stopProcess(node1));
  const node2 = await startNode(files, 2);
  cleanups.push(() => node2.close());
  const client = await QuorumClient.create({ nodeSet: files.nodeSet });
  cleanups.push(() => client.close());
  return { node1, node2, client };
}

describe('a node whose data dir fills up (a real 24 MB tmpfs)', () => {
  it('acknowledges no write that a clean restart then drops: publishes and custody records after the full disk survive, and the audit head never goes back', async () => {
    const files = await createQuorumFiles(2, 2);
    cleanups.push(() => {
      files.cleanup();
    });
    const dir = mountNodeDirOnTmpfs(files, 1);
    const { node1, client } = await startQuorum(files);
    const base = httpOf(node1);

    const publisher = await playerSession(files.nodeSet);
    const player = await playerSession(files.nodeSet);
    const first = await client.publish(publisher, { policy: { kind: 'open' } });
    first.cek.fill(0);
    expect(first.receipts.map((r) => r.outcome)).toEqual(['ok', 'ok']);
    expect(await recoverOutcome(client, first.manifest, player, 1)).toBe('ok');

    // The disk fills: node 1 refuses recovers (no share leaves without its record).
    const filler = fillDisk(dir);
    let refused = 0;
    for (let i = 0; i < 40 && refused < 4; i++) {
      const outcome = await recoverOutcome(client, first.manifest, player, 1);
      if (outcome !== 'ok') {
        expect([ErrorCode.AUDIT_UNAVAILABLE, ErrorCode.INTERNAL]).toContain(outcome);
        refused += 1;
      }
    }
    expect(refused).toBe(4);

    // Space comes back: node 1 serves again and acknowledges a publish and recovers.
    rmSync(filler);
    let second: Awaited<ReturnType<QuorumClient['publish']>> | undefined;
    for (let i = 0; i < POLL_STEPS && second === undefined; i++) {
      const attempt = await client.publish(publisher, { policy: { kind: 'open' } });
      attempt.cek.fill(0);
      if (attempt.receipts[0]?.outcome === 'ok') second = attempt;
      else await sleep(POLL_MS);
    }
    expect(second).toBeDefined();
    const acknowledged = [first.manifest, second!.manifest];
    let released = 0;
    for (let i = 0; i < POLL_STEPS && released < 6; i++) {
      const manifest = acknowledged[released % 2]!;
      if ((await recoverOutcome(client, manifest, player, 1)) === 'ok') released += 1;
      else await sleep(POLL_MS);
    }
    expect(released).toBe(6);
    const headBefore = await auditHeadMetric(base);
    expect((await readyz(base)).status).toBe(200);

    // A clean stop and a restart on the same tmpfs.
    await stopProcess(node1);
    const again = await spawnNode(files, 1);
    cleanups.push(() => stopProcess(again));
    const base2 = httpOf(again);
    const ready = await readyz(base2);
    expect(ready.body.failing).not.toContain('integrity');
    expect(await auditHeadMetric(base2)).toBeGreaterThanOrEqual(headBefore);

    const client2 = await QuorumClient.create({ nodeSet: files.nodeSet });
    cleanups.push(() => client2.close());
    for (const manifest of acknowledged)
      expect(await recoverOutcome(client2, manifest, player, 1)).toBe('ok');
    await stopProcess(again);

    const verify = await runCli(['audit', 'verify', '--dir', dir, '--json'], { cwd: files.root });
    const report = JSON.parse(verify.stdout) as { ok: boolean; verified: number };
    expect(report.ok).toBe(true);
    expect(report.verified).toBeGreaterThanOrEqual(headBefore + 2);
    expect(verify.code).toBe(0);
    publisher.destroy();
    player.destroy();
  });
});

/** The newest LevelDB write-ahead log of a node's store. */
function newestLog(dir: string): string {
  const db = join(dir, 'db');
  const logs = readdirSync(db)
    .filter((f) => f.endsWith('.log'))
    .sort();
  const newest = logs.at(-1);
  if (newest === undefined) throw new Error('no .log file');
  return join(db, newest);
}

/** XORs `count` bytes at `offset` of `path`. */
function flipBytes(path: string, offset: number, count: number): void {
  const fd = openSync(path, 'r+');
  try {
    const bytes = Buffer.alloc(count);
    readSync(fd, bytes, 0, count, offset);
    for (let i = 0; i < count; i++) bytes[i] = (bytes[i] ?? 0) ^ 0x5a;
    writeSync(fd, bytes, 0, count, offset);
  } finally {
    closeSync(fd);
  }
}

describe('a node whose LevelDB log has bytes flipped while it is stopped', () => {
  it('comes back not ready and names the audit range and the contents it lost, instead of answering UNKNOWN_CONTENT', async () => {
    const files = await createQuorumFiles(2, 2);
    cleanups.push(() => {
      files.cleanup();
    });
    const dir = files.dirs[0]!;
    const { node1, client } = await startQuorum(files);
    const base = httpOf(node1);

    const publisher = await playerSession(files.nodeSet);
    const player = await playerSession(files.nodeSet);
    const manifests: Manifest[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await client.publish(publisher, { policy: { kind: 'open' } });
      p.cek.fill(0);
      expect(p.receipts.map((r) => r.outcome)).toEqual(['ok', 'ok']);
      manifests.push(p.manifest);
      expect(await recoverOutcome(client, p.manifest, player, 1)).toBe('ok');
    }
    const headBefore = await auditHeadMetric(base);
    expect(headBefore).toBeGreaterThanOrEqual(6);
    await stopProcess(node1);

    // Every write of this run is in one log, well inside its first 32 KiB block: a
    // flip just after the first record's header loses the rest of the block.
    const log = newestLog(dir);
    expect(statSync(log).size).toBeLessThan(32 * 1024);
    flipBytes(log, 12, 4);

    const again = await spawnNode(files, 1);
    cleanups.push(() => stopProcess(again));
    const base2 = httpOf(again);
    const ready = await readyz(base2);
    expect(ready.status).toBe(503);
    expect(ready.body.failing).toContain('integrity');
    expect(ready.body.reasons?.['integrity']).toMatch(
      new RegExp(`audit records 1\\.\\.${headBefore} missing`),
    );
    expect(ready.body.reasons?.['integrity']).toMatch(/3 acknowledged contents missing/);

    // The report for the operator (and for a later re-deal of the shares) names them.
    const reportPath = join(dir, 'db-integrity', 'loss-report.json');
    expect(existsSync(reportPath)).toBe(true);
    const loss = JSON.parse(readFileSync(reportPath, 'utf8')) as {
      audit: { from: number; to: number } | null;
      contents: string[];
    };
    expect(loss.audit).toEqual({ from: 1, to: headBefore });
    expect(new Set(loss.contents)).toEqual(new Set(manifests.map((m) => toHex(m.body.contentId))));

    // A lost content is a node fault, not a claim that it was never published.
    const client2 = await QuorumClient.create({ nodeSet: files.nodeSet });
    cleanups.push(() => client2.close());
    const outcome = await recoverOutcome(client2, manifests[0]!, player, 1);
    expect(outcome).not.toBe('ok');
    expect(outcome).not.toBe(ErrorCode.UNKNOWN_CONTENT);

    // The chain, verified against the head the node vouches for, says the records are gone.
    await stopProcess(again);
    await withNodeStore(dir, async (store, keystore) => {
      expect(store.integrity?.loss.audit).toEqual([{ from: 1, to: headBefore }]);
      const chain = await verifyChain(
        suite,
        suite.ed25519.getPublicKey(keystore.identitySeed),
        store.auditEntries(),
        (await store.auditHead()) ?? null,
      );
      expect(chain.broken?.problem).toBe('removed');
    });
    // And so does `qkms audit verify`, which reads a copy of the mark with the database.
    const verify = await runCli(['audit', 'verify', '--dir', dir, '--json'], { cwd: files.root });
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(false);
    expect(verify.code).not.toBe(0);
    publisher.destroy();
    player.destroy();
  });
});
