// Long file: one quorum of node processes, four handovers against it, each checked from the CLI's report and then from the new nodes' disks.
// `qkms admin reshare` against node processes over TCP (decision 0016): five
// nodes (t = 3) holding published contents hand them to a successor. Join
// (5 -> 6, t 3 -> 4) while a player recovers in a loop from the old set; a
// byzantine old node named and routed around; too few old nodes: nothing
// moves; the coordinator and a new node SIGKILLed mid-run, then a run that
// completes. Last, the daemons stopped, the new nodes' stores are read
// directly: every new node holds a verified share under one sharing record,
// and every content opens from any t' of them and from no fewer.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, type Session } from '../../client/index.ts';
import { initKeystore, loadKeystore } from '../../node/index.ts';
import type { PendingContent } from '../../node/store/index.ts';
import {
  combineKey,
  createNodeSetDocument,
  decodeCanonical,
  fromHex,
  openCek,
  requireNativeSuite,
  serializeSignedNodeSet,
  sharingBodyHash,
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
  isRunning,
  stopAllNodes,
  withNodeStore,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
const CONTENTS = 6;
const ROOMY = ['--per-ip-burst', '400', '--per-peer-burst', '400', '--per-wallet-burst', '400'];
/** Per request: a node that is down is found out at once (connection refused), not after a minute. */
const TIMEOUT = ['--timeout-ms', '20000'];

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

/** The --json report, as `qkms admin reshare` prints it. */
interface Report {
  readonly ok: boolean;
  readonly total: number;
  readonly held: number;
  readonly alreadyHeld: number;
  readonly partial: number;
  readonly failed: number;
  readonly nodes: readonly {
    set: 'old' | 'new';
    index: number;
    unanswered: number;
    contents: number;
    blamed: number;
  }[];
  readonly contents: readonly {
    contentId: string;
    outcome: string;
    dealers: number[];
    blamed: { dealer: number; reason: string; by: number }[];
    reason?: string;
  }[];
}

interface Run {
  readonly code: number;
  readonly report: Report;
  readonly stderr: string;
}

let files: QuorumFiles;
/** Node processes by index - 1: old nodes 1..5, then node 6 (in no old set). */
const nodes: (NodeProcess | undefined)[] = [];
const coordinators = new Set<ChildProcess>();
let client: QuorumClient;
let player: Session;
const published: Published[] = [];
let dir6: string;
let port6: number;
let quorumPath: string;

const successors = new Map<string, Successor>();

/** A successor of the old set with `indexes` (old nodes by index, 6 for the new one) and threshold t; made once per name. */
function successor(name: string, indexes: readonly number[], t: number): Successor {
  const made = successors.get(name);
  if (made !== undefined) return made;
  const oldSet = files.nodeSet;
  const keystore6 = loadKeystore(dir6, { suite });
  const info6 = keystore6.publicInfo;
  keystore6.wipe();
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
  const to = {
    path,
    set: verifyNodeSetChain(suite, oldSet, [JSON.parse(text)]),
    dirs: indexes.map((i) => (i === 6 ? dir6 : (files.dirs[i - 1] ?? ''))),
  };
  successors.set(name, to);
  return to;
}

/** Starts node `index` as a process: old nodes on the old set's file, node 6 on `to`'s. */
async function start(
  index: number,
  options: { to?: Successor; args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<void> {
  const on =
    index <= 5
      ? files
      : {
          ...files,
          dirs: [...files.dirs, dir6],
          ports: [...files.ports, port6],
          nodeSetPath: options.to?.path ?? '',
        };
  nodes[index - 1] = await spawnNode(on, index, {
    args: [...ROOMY, ...(options.args ?? [])],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
}

/** Stops node `index`: SIGTERM and a clean exit, or SIGKILL. */
async function stop(index: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const node = nodes[index - 1];
  nodes[index - 1] = undefined;
  if (!isRunning(node)) return;
  node.child.kill(signal);
  expect(await node.exited).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
}

/** `admin reshare --to TO --quorum OLD --admin-key KEY` and `more`. */
function reshareArgs(to: Successor, ...more: string[]): string[] {
  return [
    'admin',
    'reshare',
    '--to',
    to.path,
    '--quorum',
    quorumPath,
    '--admin-key',
    files.adminKeyFiles[0] ?? '',
    ...more,
  ];
}

function parseReport(stdout: string, stderr: string): Report {
  try {
    return JSON.parse(stdout) as Report;
  } catch {
    throw new Error(`no JSON report; stdout: ${stdout.slice(-500)} stderr: ${stderr.slice(-2000)}`);
  }
}

/** `qkms admin reshare --json` run in this process. */
async function reshare(to: Successor, ...more: string[]): Promise<Run> {
  const timeout = more.includes('--timeout-ms') ? [] : TIMEOUT;
  const r = await runCli(reshareArgs(to, '--json', ...timeout, ...more), { cwd: files.root });
  return { code: r.code, report: parseReport(r.stdout, r.stderr), stderr: r.stderr };
}

/** `qkms admin reshare` as its own process; `progress` resolves at its first progress line. */
function spawnCoordinator(
  to: Successor,
  ...more: string[]
): {
  child: ChildProcess;
  progress: Promise<void>;
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
} {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'qkms.ts'), ...reshareArgs(to, ...TIMEOUT, ...more)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '' },
      cwd: files.root,
    },
  );
  coordinators.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolveDone) => {
    child.once('exit', (code, signal) => {
      coordinators.delete(child);
      resolveDone({ code, signal, stdout, stderr });
    });
  });
  const progress = new Promise<void>((resolveProgress, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/\d+ of \d+ contents held/.test(stderr)) resolveProgress();
    });
    void done.then(() => {
      reject(new Error(`the coordinator ended before any progress; stderr: ${stderr}`));
    });
  });
  return { child, progress, done };
}

/** Each new node's pending record of `content` for `to`, read from its (stopped) store. */
async function pendingRecords(
  to: Successor,
  content: Published,
): Promise<(PendingContent | undefined)[]> {
  const records: (PendingContent | undefined)[] = [];
  for (const dir of to.dirs)
    records.push(
      await withNodeStore(dir, (store) =>
        store.getPending(to.set.id, content.manifest.body.contentId),
      ),
    );
  return records;
}

/**
 * Every new node holds `content` under one complete, verifying sharing record
 * of `to`; any t' consecutive (mod n) shares open the published CEK, t' - 1 do not.
 */
async function expectOpensFromNewShares(to: Successor, content: Published): Promise<void> {
  const c0 = content.manifest.body.commitments[0] ?? new Uint8Array();
  const records = await pendingRecords(to, content);
  const bodies = new Set<string>();
  const shares = records.map((r, k) => {
    expect(r?.held, `new node ${k + 1} holds the content`).toBe(true);
    if (r === undefined) return { x: k + 1, bytes: new Uint8Array() };
    const record = sharingRecordFromCbor(decodeCanonical(r.content.sharing, 1 << 20));
    verifySharingRecord(suite, record, to.set, c0);
    bodies.add(toHex(sharingBodyHash(suite, record.body)));
    return { x: k + 1, bytes: r.content.share };
  });
  expect(bodies.size, 'one sharing across the new nodes').toBe(1);
  const n = shares.length;
  const t = to.set.threshold;
  for (let first = 0; first < n; first++) {
    const pick = Array.from({ length: t }, (_, k) => shares[(first + k) % n]);
    const key = combineKey(
      pick.map((s) => s ?? { x: 0, bytes: new Uint8Array() }),
      t,
      () => true,
    );
    expect(openCek(suite, content.manifest.body, key), `shares from ${first + 1}`).toEqual(
      content.cek,
    );
  }
  const fewer = combineKey(shares.slice(0, t - 1), t - 1, () => true);
  expect(openCek(suite, content.manifest.body, fewer)).toBeUndefined();
}

beforeAll(async () => {
  files = await createQuorumFiles(5, 3);
  quorumPath = files.nodeSetPath;
  await Promise.all([1, 2, 3, 4, 5].map((i) => start(i)));
  dir6 = join(files.root, 'node-6');
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
  for (const c of coordinators) c.kill('SIGKILL');
  await client.close();
  player.destroy();
  await stopAllNodes(nodes);
  files.cleanup();
});

describe('qkms admin reshare against five node processes (t = 3)', () => {
  const join56 = (): Successor => successor('join.json', [1, 2, 3, 4, 5, 6], 4);
  const refresh = (): Successor => successor('refresh.json', [1, 2, 3, 4, 5], 3);
  const leave = (): Successor => successor('leave.json', [1, 2, 6], 2);
  const crash = (): Successor => successor('crash.json', [2, 3, 4, 5, 6], 3);

  it('join 5 -> 6, t 3 -> 4, while a player recovers from the old set: every content held by all six, every recover succeeds, and a re-run moves nothing', async () => {
    const to = join56();
    await start(6, { to });
    let recovers = 0;
    const failures: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const p = published[recovers % CONTENTS];
        if (p === undefined) break;
        try {
          const { cek } = await client.recover(p.manifest, player);
          if (toHex(cek) !== toHex(p.cek)) failures.push('wrong CEK');
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
        }
        recovers++;
      }
    })();
    const run = await reshare(to, '--batch', '2');
    const during = recovers;
    running = false;
    await loop;
    expect(run.code, run.stderr).toBe(0);
    expect(run.report).toMatchObject({ ok: true, total: CONTENTS, held: CONTENTS, failed: 0 });
    const fresh = run.report.nodes.filter((n) => n.set === 'new');
    expect(fresh.map((n) => n.index)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const n of fresh) expect(n.contents, `new node ${n.index}`).toBe(CONTENTS);
    // Three batches of two, each reported.
    expect(run.stderr).toMatch(/2 of 6 contents held[\s\S]*4 of 6[\s\S]*6 of 6/);
    // The old set served throughout: recovers completed while the handover ran, none failed.
    expect(during).toBeGreaterThan(0);
    expect(failures).toEqual([]);

    const again = await reshare(to);
    expect(again.code, again.stderr).toBe(0);
    expect(again.report).toMatchObject({ held: CONTENTS, alreadyHeld: CONTENTS, failed: 0 });
  });

  it('a byzantine old node (dealing bad sub-shares) is named bad-sub-share for every content and never combined; the handover completes', async () => {
    await stop(2);
    await start(2, { args: ['--test-wrong-share'], env: { QKMS_ENABLE_TEST_FAULTS: '1' } });
    try {
      const to = refresh();
      const run = await reshare(to);
      expect(run.code, run.stderr).toBe(0);
      expect(run.report).toMatchObject({ ok: true, held: CONTENTS, failed: 0 });
      expect(run.report.contents).toHaveLength(CONTENTS);
      for (const c of run.report.contents) {
        expect(c.outcome).toBe('held');
        expect(c.dealers).toHaveLength(3);
        expect(c.dealers).not.toContain(2);
        const named = c.blamed.filter((b) => b.dealer === 2);
        expect(named.length).toBeGreaterThan(0);
        for (const b of named) expect(b.reason).toBe('bad-sub-share');
        expect(c.blamed.every((b) => b.dealer === 2)).toBe(true);
      }
      const byzantine = run.report.nodes.find((n) => n.set === 'old' && n.index === 2);
      expect(byzantine?.blamed).toBe(CONTENTS);
    } finally {
      await stop(2);
      await start(2);
    }
  });

  it('with three of five old nodes down (t = 3) nothing moves: exit 4, held 0, and the report names the three', async () => {
    const to = leave();
    await stop(6);
    await start(6, { to });
    await Promise.all([3, 4, 5].map((i) => stop(i)));
    try {
      const run = await reshare(to, '--timeout-ms', '2000');
      expect(run.code, run.stderr).toBe(4);
      expect(run.report).toMatchObject({ ok: false, total: CONTENTS, held: 0, failed: CONTENTS });
      const old = run.report.nodes.filter((n) => n.set === 'old');
      expect(old.filter((n) => n.unanswered > 0).map((n) => n.index)).toEqual([3, 4, 5]);
      for (const c of run.report.contents) {
        expect(c.outcome).toBe('failed');
        expect(c.reason).toBe('only 2 honest old nodes dealt it, 3 needed');
      }
      // The new nodes (all up) were never asked to commit: they hold nothing (their disks: below).
      for (const n of run.report.nodes.filter((x) => x.set === 'new'))
        expect(n.contents, `new node ${n.index}`).toBe(0);
    } finally {
      await Promise.all([3, 4, 5].map((i) => start(i)));
    }
  });

  it('the coordinator SIGKILLed after its first batch, then a new node SIGKILLed during the next run (partial, exit 4): once it is back, a final run holds every content', async () => {
    const to = crash();
    await stop(6);
    await start(6, { to });

    const first = spawnCoordinator(to, '--batch', '1');
    await first.progress;
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');

    const second = spawnCoordinator(to, '--batch', '1', '--json');
    await second.progress;
    await stop(6, 'SIGKILL');
    const ended = await second.done;
    expect(ended.code, ended.stderr).toBe(4);
    const partial = { report: parseReport(ended.stdout, ended.stderr) };
    expect(partial.report.ok).toBe(false);
    expect(partial.report.held).toBeLessThan(CONTENTS);
    expect(partial.report.held).toBeGreaterThanOrEqual(1); // the content the killed run moved
    expect(partial.report.failed).toBe(0);
    expect(partial.report.held + partial.report.partial).toBe(CONTENTS);
    // Node 6 is the successor's fifth node.
    const six = partial.report.nodes.find((n) => n.set === 'new' && n.index === 5);
    expect(six?.unanswered).toBeGreaterThan(0);

    await start(6, { to });
    const done = await reshare(to);
    expect(done.code, done.stderr).toBe(0);
    expect(done.report).toMatchObject({ ok: true, held: CONTENTS, failed: 0, partial: 0 });
    for (const n of done.report.nodes.filter((x) => x.set === 'new'))
      expect(n.contents, `new node ${n.index}`).toBe(CONTENTS);
  });

  it('on the stopped new nodes’ disks: each successor’s shares verify under one record and open from any t′ of them, not from fewer; the refused handover left nothing', async () => {
    await Promise.all([1, 2, 3, 4, 5, 6].map((i) => stop(i)));
    const held = [join56(), refresh(), crash()];
    for (const content of published)
      for (const to of held) await expectOpensFromNewShares(to, content);
    const refused = leave();
    for (const content of published)
      expect(await pendingRecords(refused, content)).toEqual([undefined, undefined, undefined]);
  });
});
