// What a handover (decision 0016) costs the players: recover latency from the old set while
// `qkms admin reshare` moves every content to a successor, against the same recovers just before.
// 5 node processes (t = 3, quorum-processes.ts, ROOMY_RATES) and a 6th on the successor (6 nodes,
// t = 4); in this process one QuorumClient pinned to the old set with a publisher and a player
// Session. The coordinator is its own process (bin/qkms.ts, as an admin runs it), so the
// handover's work is in the nodes and the coordinator, not in this one. N contents, all `open`:
// QKMS_BENCH_HANDOVER_CONTENTS (default 300). test/perf/README.md says what each figure includes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuorumClient, Session, walletFromPrivateKey } from '../../client/index.ts';
import { initKeystore } from '../../node/index.ts';
import {
  createNodeSetDocument,
  fromHex,
  requireNativeSuite,
  serializeSignedNodeSet,
  signNodeSet,
  verifyNodeSetChain,
  type Manifest,
} from '../../protocol/internal.ts';
import { REPO_ROOT, freePort, type QuorumFiles } from '../support/quorum.ts';
import { equal } from './fixtures.ts';
import { check, distribution, type BenchResult, type Scenario, type Study } from './harness.ts';
import { concurrent, sequential, type Call } from './load.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';

const NAME = 'reshare.recover_during_handover';
const NODES = 5;
const THRESHOLD = 3;
/** The successor: the 5 old nodes and node 6, t = 4. */
const NEW_NODE = 6;
const NEW_THRESHOLD = 4;
const DEFAULT_CONTENTS = 300;
/** Publishes in flight at once while the contents are made (not measured). */
const PUBLISH_CONCURRENCY = 4;
/** Recovers before measuring: connections, JIT, the client's latency estimates. */
const WARMUP_RECOVERS = 50;
const HEALTHY_RECOVERS = 300;
/** The handover must end within this, or the study fails (it takes seconds for 300 contents). */
const HANDOVER_TIMEOUT_MS = 15 * 60_000;
const HOUR_MS = 3_600_000;

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const ms1 = (x: number | undefined): string => (x ?? 0).toFixed(1);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function contents(): number {
  const raw = process.env['QKMS_BENCH_HANDOVER_CONTENTS'];
  const n = raw === undefined ? DEFAULT_CONTENTS : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error('QKMS_BENCH_HANDOVER_CONTENTS: a positive integer');
  return n;
}

function session(quorum: Quorum, actions: readonly ('publish' | 'recover')[]): Promise<Session> {
  return Session.create({
    wallet: walletFromPrivateKey(randomBytes(32).toString('hex')),
    nodeSet: quorum.files.nodeSet,
    capabilities: { actions, content: 'all' },
    lifetimeMs: HOUR_MS,
  });
}

/**
 * Node 6's keystore and port, and the successor set (the old nodes as they are, node 6 last,
 * t = 4) signed by the old set's admin as itself and as its predecessor's, written to a file.
 * The files node 6 is started from: the old quorum's, with node 6 added and the successor as
 * node set. Their cleanup does nothing: node 6's dir is in the old quorum's temp dir.
 */
async function successorFiles(old: QuorumFiles): Promise<QuorumFiles> {
  const suite = requireNativeSuite();
  const dir = join(old.root, `node-${NEW_NODE}`);
  const info = initKeystore(dir, { suite }).publicInfo;
  const port = await freePort();
  const document = createNodeSetDocument({
    epoch: old.nodeSet.epoch + 1,
    predecessor: old.nodeSet.id,
    threshold: NEW_THRESHOLD,
    nodes: [
      ...old.nodeSet.nodes.map((n) => ({
        index: n.index,
        peerId: n.peerId,
        multiaddrs: n.multiaddrs,
        kemPublicKey: n.kemPublicKey,
      })),
      {
        index: NEW_NODE,
        peerId: info.peerId,
        multiaddrs: [`/ip4/127.0.0.1/tcp/${port}`],
        kemPublicKey: fromHex(info.kemPublicKey),
      },
    ],
    admins: old.nodeSet.admins,
    params: old.nodeSet.params,
  });
  const admin = { index: 0, secretKey: old.adminSeeds[0] ?? new Uint8Array() };
  const text = serializeSignedNodeSet(
    document,
    [signNodeSet(suite, document, admin)],
    [signNodeSet(suite, document, admin, { predecessor: old.nodeSet })],
  );
  const path = join(old.root, 'successor.json');
  writeFileSync(path, text);
  return {
    ...old,
    dirs: [...old.dirs, dir],
    ports: [...old.ports, port],
    nodeSetPath: path,
    nodeSet: verifyNodeSetChain(suite, old.nodeSet, [JSON.parse(text)]),
    cleanup: () => undefined,
  };
}

/** The fields of `qkms admin reshare --json`'s report this study reads. */
interface HandoverReport {
  readonly ok: boolean;
  readonly total: number;
  readonly held: number;
  readonly failed: number;
  readonly ms: number;
  readonly contentsPerSecond: number | null;
}

interface Handover {
  /** Resolves at the coordinator's first line (its handover begins), false if it ended first. */
  readonly begun: Promise<boolean>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
  /** What it wrote on stderr (progress lines; no secret: the admin key stays in its file). */
  readonly stderr: () => string;
  readonly kill: () => void;
}

/** `qkms admin reshare --to SUCCESSOR --quorum OLD --admin-key KEY --json` as its own process. */
function spawnHandover(
  old: QuorumFiles,
  to: QuorumFiles,
  progress: (line: string) => void,
): Handover {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'qkms.ts'),
      ...['admin', 'reshare', '--to', to.nodeSetPath, '--quorum', old.nodeSetPath],
      ...['--admin-key', old.adminKeyFiles[0] ?? '', '--json'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' }, cwd: old.root },
  );
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', kill);
  let stdout = '';
  let stderr = '';
  let pending = '';
  let resolveBegun: (begun: boolean) => void = () => undefined;
  const begun = new Promise<boolean>((resolve) => {
    resolveBegun = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('qkms admin reshare: ')) resolveBegun(true);
      progress(line);
    }
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>(
    (resolve) => {
      child.once('close', (code, signal) => {
        process.off('exit', kill);
        resolveBegun(false);
        resolve({ code, signal, stdout });
      });
    },
  );
  return { begun, done, stderr: () => stderr, kill };
}

function parseReport(stdout: string, stderr: string): HandoverReport {
  try {
    return JSON.parse(stdout) as HandoverReport;
  } catch {
    throw new Error(
      `${NAME}: no JSON report from qkms admin reshare; stderr: ${stderr.slice(-2000)}`,
    );
  }
}

async function runStudy(
  progress: (line: string) => void,
  quorum: Quorum,
  newNode: Quorum,
): Promise<BenchResult[]> {
  const n = contents();
  await quorum.start(Array.from({ length: NODES }, (_, i) => i + 1));
  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const publisher = await session(quorum, ['publish', 'recover']);
  const player = await session(quorum, ['recover']);
  const published: { manifest: Manifest; cek: Uint8Array }[] = [];
  try {
    progress(`${NAME}: publishing ${n} contents (open) to ${NODES} nodes, t = ${THRESHOLD}`);
    const publishing = await concurrent(PUBLISH_CONCURRENCY, { count: n }, async () => {
      const p = await client.publish(publisher, { policy: { kind: 'open' } });
      if (p.receipts.some((r) => r.outcome !== 'ok')) throw new Error('a node refused the share');
      published.push({ manifest: p.manifest, cek: p.cek });
    });
    check(
      publishing.errors === 0 && published.length === n,
      `${NAME}: every publish stored on every node (${publishing.errors} failed: ${message(publishing.firstError)})`,
    );

    await newNode.start([NEW_NODE]);
    progress(`${NAME}: node ${NEW_NODE} started on the successor (6 nodes, t = ${NEW_THRESHOLD})`);

    // Every recover of either phase takes the next content in turn, so both touch all of them.
    let next = 0;
    const recover: Call = async () => {
      const p = published[next++ % n];
      if (p === undefined) throw new Error('no content');
      const got = await client.recover(p.manifest, player);
      const same = equal(got.cek, p.cek);
      got.cek.fill(0);
      if (!same) throw new Error('recover returned another CEK');
    };

    await sequential(WARMUP_RECOVERS, recover);
    const healthy = await sequential(HEALTHY_RECOVERS, recover);
    check(
      healthy.errors === 0,
      `${NAME}: healthy recovers all succeed (${healthy.errors} failed: ${message(healthy.firstError)})`,
    );
    const healthyRow: BenchResult = {
      name: NAME,
      impl: 'healthy',
      ...distribution(healthy.latencies),
      per_s: round((healthy.latencies.length * 1000) / healthy.elapsedMs, 1),
    };
    progress(
      `${NAME}: healthy, ${HEALTHY_RECOVERS} recovers: p50 ${ms1(healthyRow.p50_ms)} ms, p99 ${ms1(healthyRow.p99_ms)} ms`,
    );

    // The handover, and recovers from the old set one after another from its first line to its exit.
    const handover = spawnHandover(quorum.files, newNode.files, (line) => {
      progress(`  ${line}`);
    });
    const state = { ended: false };
    const during: number[] = [];
    let failures = 0;
    let firstFailure: unknown;
    let loopMs = 0;
    const timeout = setTimeout(handover.kill, HANDOVER_TIMEOUT_MS);
    try {
      void handover.done.then(() => {
        state.ended = true;
      });
      if (await handover.begun) {
        const started = performance.now();
        while (!state.ended) {
          const t0 = performance.now();
          try {
            await recover();
            during.push(performance.now() - t0);
          } catch (e) {
            failures += 1;
            firstFailure ??= e;
          }
        }
        loopMs = performance.now() - started;
      }
    } finally {
      clearTimeout(timeout);
      handover.kill();
    }
    const exit = await handover.done;
    check(
      exit.code === 0,
      `${NAME}: qkms admin reshare exited ${exit.signal ?? String(exit.code)}; stderr: ${handover.stderr().slice(-2000)}`,
    );
    const report = parseReport(exit.stdout, handover.stderr());
    check(
      report.ok && report.total === n && report.held === n && report.failed === 0,
      `${NAME}: the handover held ${report.held} of ${report.total} contents (${n} published), ${report.failed} failed`,
    );
    if (failures > 0)
      throw new Error(
        `${NAME}: ${failures} of ${failures + during.length} recovers failed during the handover (first: ${message(firstFailure)})`,
      );
    check(during.length > 0, `${NAME}: some recover completed during the handover`);

    const latency = distribution(during);
    const duringRow: BenchResult = {
      name: NAME,
      impl: 'during',
      ...latency,
      per_s: round((during.length * 1000) / loopMs, 1),
      p99_vs_healthy: round((latency.p99_ms ?? 0) / (healthyRow.p99_ms ?? 1), 2),
      errors: failures,
    };
    const perS = report.contentsPerSecond ?? 0;
    progress(
      `${NAME}: during the handover (${(report.ms / 1000).toFixed(1)} s, ${perS.toFixed(1)} contents/s),` +
        ` ${during.length} recovers, ${failures} failed: p50 ${ms1(duringRow.p50_ms)} ms,` +
        ` p99 ${ms1(duringRow.p99_ms)} ms = x${(duringRow.p99_vs_healthy ?? 0).toFixed(2)} the healthy p99`,
    );
    return [
      healthyRow,
      duringRow,
      { name: NAME, impl: 'handover', per_s: round(perS, 1), samples: n },
    ];
  } finally {
    for (const p of published) p.cek.fill(0);
    publisher.destroy();
    player.destroy();
    await client.close();
  }
}

const handoverLatencyStudy: Study = {
  names: [NAME],
  run: async (context) => {
    const quorum = await Quorum.create(NODES, THRESHOLD, ROOMY_RATES);
    let newNode: Quorum | undefined;
    try {
      newNode = new Quorum(await successorFiles(quorum.files), ROOMY_RATES);
      return await runStudy(context.progress, quorum, newNode);
    } finally {
      await newNode?.close();
      await quorum.close();
    }
  },
};

export const handoverLatencyBenches: readonly Scenario[] = [handoverLatencyStudy];
