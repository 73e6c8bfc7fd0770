// Long file: one quorum, several handovers against it, each checked from the CLI and the new nodes' disks.
// `qkms admin reshare` against real daemons over TCP (decision 0016): five
// nodes (t = 3) holding published contents hand them to a successor. Join
// (5 -> 6, t 3 -> 4) while players recover in a loop from the old set; a
// byzantine old node named and routed around; too few old nodes refused;
// then, the daemons stopped, the new nodes' stores are read directly: every
// content opens from any t' of the new shares and from no fewer.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, type Session } from '../../client/index.ts';
import { DB_DIR, DB_INTEGRITY_DIR, type Daemon } from '../../node/daemon.ts';
import { initKeystore, loadKeystore } from '../../node/index.ts';
import { NodeStore } from '../../node/store/index.ts';
import {
  combineKey,
  createNodeSetDocument,
  decodeCanonical,
  fromHex,
  openCek,
  requireNativeSuite,
  serializeSignedNodeSet,
  sharingRecordFromCbor,
  signNodeSet,
  toHex,
  verifyNodeSetChain,
  verifySharingRecord,
  type Manifest,
  type NodeSet,
} from '../../protocol/internal.ts';
import { runCli } from '../support/cli.ts';
import { playerSession } from '../support/in-process.ts';
import {
  REPO_ROOT,
  createQuorumFiles,
  freePort,
  spawnNode,
  startNode,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
const CONTENTS = 6;
const ROOMY = ['--per-ip-burst', '400', '--per-peer-burst', '400'];

interface Published {
  readonly manifest: Manifest;
  readonly cek: Uint8Array;
}

interface Successor {
  readonly path: string;
  readonly set: NodeSet;
  /** The data dirs of its nodes, by index - 1. */
  readonly dirs: readonly string[];
}

let files: QuorumFiles;
let old: (Daemon | undefined)[] = [];
let extra: Daemon | undefined;
let client: QuorumClient;
let player: Session;
const published: Published[] = [];
let dir6: string;
let port6: number;
let quorumPath: string;

/** A successor of the old set with `indexes` (old nodes by index, 6 for the new one) and threshold t. */
function successor(name: string, indexes: readonly number[], t: number): Successor {
  const oldSet = files.nodeSet;
  const info6 = loadKeystore(dir6, { suite }).publicInfo;
  const document = createNodeSetDocument({
    epoch: 2,
    predecessor: oldSet.id,
    threshold: t,
    nodes: indexes.map((i, k) => {
      if (i === 6)
        return {
          index: k + 1,
          peerId: info6.peerId,
          multiaddrs: [`/ip4/127.0.0.1/tcp/${port6}`],
          kemPublicKey: fromHex(info6.kemPublicKey),
        };
      const n = oldSet.node(i);
      if (n === undefined) throw new Error(`no old node ${i}`);
      return {
        index: k + 1,
        peerId: n.peerId,
        multiaddrs: n.multiaddrs,
        kemPublicKey: n.kemPublicKey,
      };
    }),
    admins: oldSet.admins,
    params: oldSet.params,
  });
  const admin = { index: 0, secretKey: files.adminSeeds[0] ?? new Uint8Array() };
  const text = serializeSignedNodeSet(
    document,
    [signNodeSet(suite, document, admin)],
    [signNodeSet(suite, document, admin, { predecessor: oldSet })],
  );
  const path = join(files.root, name);
  writeFileSync(path, text);
  return {
    path,
    set: verifyNodeSetChain(suite, oldSet, [JSON.parse(text)]),
    dirs: indexes.map((i) => (i === 6 ? dir6 : (files.dirs[i - 1] ?? ''))),
  };
}

async function reshare(
  to: Successor,
  ...more: string[]
): Promise<{ code: number; report: Record<string, unknown>; stderr: string }> {
  const r = await runCli(
    [
      'admin',
      'reshare',
      '--to',
      to.path,
      '--quorum',
      quorumPath,
      '--admin-key',
      files.adminKeyFiles[0] ?? '',
      '--json',
      ...(more.includes('--timeout-ms') ? [] : ['--timeout-ms', '20000']),
      ...more,
    ],
    { cwd: files.root },
  );
  return {
    code: r.code,
    report: JSON.parse(r.stdout) as Record<string, unknown>,
    stderr: r.stderr,
  };
}

/** Node 6 serving `to` (the successor it is in), restarted for each successor. */
async function startSix(to: Successor): Promise<void> {
  await extra?.close();
  extra = await startNode(
    { ...files, dirs: [...files.dirs, dir6], ports: [...files.ports, port6], nodeSetPath: to.path },
    6,
    { args: ROOMY },
  );
}

/** The pending shares the stopped new nodes hold for `to`, read from their stores; checked. */
async function pendingShares(
  to: Successor,
  content: Published,
): Promise<{ x: number; bytes: Uint8Array }[]> {
  const shares = [];
  for (const [k, dir] of to.dirs.entries()) {
    const keystore = loadKeystore(dir, { suite });
    const store = await NodeStore.open({
      path: join(dir, DB_DIR),
      integrityDir: join(dir, DB_INTEGRITY_DIR),
      storageKey: keystore.storageKey,
      suite,
    });
    try {
      const pending = await store.getPending(to.set.id, content.manifest.body.contentId);
      expect(pending?.held, `new node ${k + 1} holds the content`).toBe(true);
      if (pending === undefined) continue;
      const record = sharingRecordFromCbor(decodeCanonical(pending.content.sharing, 1 << 20));
      verifySharingRecord(
        suite,
        record,
        to.set,
        content.manifest.body.commitments[0] ?? new Uint8Array(),
      );
      shares.push({ x: k + 1, bytes: pending.content.share });
    } finally {
      await store.close();
      keystore.wipe();
    }
  }
  return shares;
}

beforeAll(async () => {
  files = await createQuorumFiles(5, 3);
  quorumPath = files.nodeSetPath;
  for (let i = 1; i <= 5; i++) old[i - 1] = await startNode(files, i, { args: ROOMY });
  dir6 = mkdtempSync(join(tmpdir(), 'qkms-node6-'));
  initKeystore(dir6, { suite });
  port6 = await freePort();
  client = await QuorumClient.create({ nodeSet: files.nodeSet });
  player = await playerSession(files.nodeSet);
  for (let i = 0; i < CONTENTS; i++) {
    const p = await client.publish(player, { policy: { kind: 'open' } });
    published.push({ manifest: p.manifest, cek: p.cek });
  }
});

afterAll(async () => {
  await client.close();
  await extra?.close();
  for (const d of old) await d?.close();
  files.cleanup();
});

describe('qkms admin reshare against five daemons (t = 3)', () => {
  it('join 5 -> 6, t 3 -> 4, while players recover from the old set: every content held by all six, and a re-run moves nothing', async () => {
    const to = successor('join.json', [1, 2, 3, 4, 5, 6], 4);
    await startSix(to);
    let recovers = 0;
    let failures = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const p = published[recovers % CONTENTS];
        if (p === undefined) break;
        try {
          const { cek } = await client.recover(p.manifest, player);
          if (toHex(cek) !== toHex(p.cek)) failures++;
        } catch {
          failures++;
        }
        recovers++;
      }
    })();
    const run = await reshare(to, '--batch', '2');
    running = false;
    await loop;
    expect(run.code, run.stderr).toBe(0);
    expect(run.report).toMatchObject({ ok: true, total: CONTENTS, held: CONTENTS, failed: 0 });
    const nodes = run.report['nodes'] as { set: string; index: number; contents: number }[];
    for (const n of nodes.filter((x) => x.set === 'new')) expect(n.contents).toBe(CONTENTS);
    expect(run.stderr).toMatch(/qkms admin reshare: 2 of 6 contents held/);
    // The old set served throughout.
    expect(recovers).toBeGreaterThan(0);
    expect(failures).toBe(0);

    const again = await reshare(to);
    expect(again.code).toBe(0);
    expect(again.report).toMatchObject({ held: CONTENTS, alreadyHeld: CONTENTS });
  });

  it('a byzantine old node (dealing bad sub-shares) is named for every content and never combined', async () => {
    await old[1]?.close();
    old[1] = await startNode(files, 2, {
      args: [...ROOMY, '--test-wrong-share'],
      env: { QKMS_ENABLE_TEST_FAULTS: '1' },
    });
    const to = successor('refresh.json', [1, 2, 3, 4, 5], 3);
    const run = await reshare(to);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report).toMatchObject({ held: CONTENTS, failed: 0 });
    const contents = run.report['contents'] as {
      dealers: number[];
      blamed: { dealer: number; reason: string }[];
    }[];
    expect(contents).toHaveLength(CONTENTS);
    for (const c of contents) {
      expect(c.dealers).not.toContain(2);
      expect(c.blamed.map((b) => `${b.dealer}:${b.reason}`)).toContain('2:bad-sub-share');
    }
    await old[1].close();
    old[1] = await startNode(files, 2, { args: ROOMY });
  });

  it('with three of five old nodes down nothing is held (exit 4), and the report names them', async () => {
    const to = successor('leave.json', [1, 2, 3, 4], 3);
    for (const i of [3, 4, 5]) {
      await old[i - 1]?.close();
      old[i - 1] = undefined;
    }
    try {
      const run = await reshare(to, '--timeout-ms', '2000');
      expect(run.code).toBe(4);
      expect(run.report).toMatchObject({ ok: false, held: 0 });
      const nodes = run.report['nodes'] as { set: string; index: number; unanswered: number }[];
      expect(nodes.filter((n) => n.set === 'old' && n.unanswered > 0).map((n) => n.index)).toEqual([
        3, 4, 5,
      ]);
    } finally {
      for (const i of [3, 4, 5]) old[i - 1] = await startNode(files, i, { args: ROOMY });
    }
  });

  it('the coordinator SIGKILLed after one batch, then the new node SIGKILLed: that run is partial, and the next completes once node 6 is back', async () => {
    const to = successor('crash.json', [1, 2, 3, 4, 5, 6], 3);
    await extra?.close();
    extra = undefined;
    const six = {
      ...files,
      dirs: [...files.dirs, dir6],
      ports: [...files.ports, port6],
      nodeSetPath: to.path,
    };
    let node6 = await spawnNode(six, 6, { args: ROOMY });
    // The coordinator as its own process, killed after its first batch.
    const coordinator = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin', 'qkms.ts'),
        'admin',
        'reshare',
        '--to',
        to.path,
        '--quorum',
        quorumPath,
        '--admin-key',
        files.adminKeyFiles[0] ?? '',
        '--batch',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
    );
    const exited = new Promise<NodeJS.Signals | number | null>((resolveExit) => {
      coordinator.once('exit', (code, signal) => {
        resolveExit(signal ?? code);
      });
    });
    await new Promise<void>((resolveFirst) => {
      let err = '';
      coordinator.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (/1 of 6 contents held/.test(err)) {
          coordinator.kill('SIGKILL');
          resolveFirst();
        }
      });
    });
    expect(await exited).toBe('SIGKILL');

    node6.child.kill('SIGKILL');
    await node6.exited;
    const partial = await reshare(to, '--timeout-ms', '2000');
    expect(partial.code).toBe(4);
    // Node 6 cannot vouch for the content the killed run moved, so nothing counts as held by all
    // six; every content is committed again among the five that answer: partial.
    expect(partial.report).toMatchObject({ ok: false, held: 0, partial: CONTENTS });

    node6 = await spawnNode(six, 6, { args: ROOMY });
    try {
      const done = await reshare(to);
      expect(done.code, done.stderr).toBe(0);
      expect(done.report).toMatchObject({ ok: true, held: CONTENTS, failed: 0 });
    } finally {
      node6.child.kill('SIGTERM');
      await node6.exited;
    }
  });

  it('on the stopped new nodes’ disks: each content opens from any 4 of the 6 shares, and not from 3', async () => {
    const to = successor('join.json', [1, 2, 3, 4, 5, 6], 4);
    await extra?.close();
    extra = undefined;
    for (const d of old) await d?.close();
    old = [];
    for (const content of published) {
      const shares = await pendingShares(to, content);
      expect(shares).toHaveLength(6);
      for (const pick of [
        [0, 1, 2, 3],
        [2, 3, 4, 5],
        [0, 2, 4, 5],
      ]) {
        const key = combineKey(
          pick.map((k) => shares[k] ?? { x: 0, bytes: new Uint8Array() }),
          4,
          () => true,
        );
        expect(openCek(suite, content.manifest.body, key)).toEqual(content.cek);
      }
      const three = combineKey(shares.slice(0, 3), 3, () => true);
      expect(openCek(suite, content.manifest.body, three)).toBeUndefined();
    }
  });
});
