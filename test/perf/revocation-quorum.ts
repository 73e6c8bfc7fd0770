// A revocation on a real quorum (DESIGN.md, Revocation): 5 node processes (t = 3) on loopback
// and a QuorumClient in this process. How soon a revocation is effective (n - t + 1 durable
// acknowledgements), when all 5 nodes hold it, and how soon a node that was down holds it
// after it restarts (anti-entropy). test/perf/README.md says what each figure includes.
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { QuorumClient, type RevokeResult } from '../../client/index.ts';
import { spawnNodeChild, type NodeChild } from '../../node/cli/node-children.ts';
import { requireNativeSuite } from '../../protocol/index.ts';
import { TARGET_BYTES, signRevocation } from '../../revocation/index.ts';
import { REPO_ROOT, createQuorumFiles, type QuorumFiles } from '../support/quorum.ts';
import { check, latencies, type BenchResult, type Study, type StudyContext } from './harness.ts';

const suite = requireNativeSuite();

const NODES = 5;
const THRESHOLD = 3;
/** Anti-entropy every second instead of every five: what a restarted node waits for at most. */
const SYNC_INTERVAL_MS = 1_000;
/** Rounds before measuring: connections, JIT, LevelDB files. */
const WARMUP_ROUNDS = 2;
const ROUNDS = 20;
/** Rounds in which the bench polls every node's /metrics while the revocation spreads. */
const POLLED_ROUNDS = 10;
const POLL_INTERVAL_MS = 2;
/** Times two nodes are stopped, a revocation made without them, and they are started again. */
const RESTARTS = 3;
const RESTARTED: readonly number[] = [4, 5];
/** How long a restarted node may take to catch up before the bench gives up. */
const CATCH_UP_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
/** Between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Pause after a round: the nodes' pushes to each other (answered 'unchanged') finish. */
const SETTLE_MS = 50;

const NAME_EFFECTIVE = 'revocation.effective_ms';
const NAME_CONVERGED = 'revocation.converged_ms';
const NAME_RESTART = 'revocation.converged_after_restart_ms';

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** What a node's /metrics says about revocations. */
interface RevocationMetrics {
  /** Records in its live set (qkms_revocations). */
  readonly records: number;
  /** Records it stored since it started, and the sum of (stored at - issuedAt) over them, ms. */
  readonly stored: number;
  readonly lagSumMs: number;
}

function metric(text: string, name: string): number {
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`bench: ${name} missing from /metrics`);
  return Number(value);
}

async function scrape(url: string): Promise<RevocationMetrics> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return {
    records: metric(text, 'qkms_revocations'),
    stored: metric(text, 'qkms_revocation_propagation_lag_seconds_count'),
    lagSumMs: metric(text, 'qkms_revocation_propagation_lag_seconds_sum') * 1000,
  };
}

/** A node process starts with empty metrics (loading its stored records observes nothing). */
const NOTHING_STORED: RevocationMetrics = { records: 0, stored: 0, lagSumMs: 0 };

interface RunningNode {
  readonly child: NodeChild;
  readonly metricsUrl: string;
  /** The last scrape storedAt compared: what the next one is compared with. */
  last: RevocationMetrics;
}

/**
 * The node processes of one quorum. If this process exits or is interrupted before close(),
 * every child is killed (SIGKILL) and the files removed: a node that outlived the bench would
 * hold its port and dir.
 */
class Quorum {
  readonly files: QuorumFiles;
  readonly nodes = new Map<number, RunningNode>();
  readonly #children = new Set<NodeChild>();
  /** The last resort (exit, interrupt): kill every child, remove the files. Synchronous. */
  readonly #killAll = (): void => {
    for (const child of this.#children) child.signal('SIGKILL');
    this.files.cleanup();
  };
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.#killAll();
    process.kill(process.pid, signal);
  };

  constructor(files: QuorumFiles) {
    this.files = files;
    process.on('exit', this.#killAll);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /** Starts these nodes at once; resolves when each is ready, with the time each took (ms). */
  async start(indexes: readonly number[]): Promise<number[]> {
    const started = performance.now();
    return Promise.all(
      indexes.map(async (index) => {
        const child = spawnNodeChild({
          index,
          command: process.execPath,
          args: [
            join(REPO_ROOT, 'bin', 'qkms.ts'),
            'node',
            'start',
            ...['--dir', this.files.dirs[index - 1] ?? ''],
            ...['--nodeset', this.files.nodeSetPath],
            ...['--listen', `/ip4/127.0.0.1/tcp/${this.files.ports[index - 1] ?? 0}`],
            ...['--http', '127.0.0.1:0'],
            ...['--revocation-sync-interval-ms', String(SYNC_INTERVAL_MS)],
          ],
          env: { PATH: process.env['PATH'], QKMS_LOG_LEVEL: 'warn' },
          cwd: REPO_ROOT,
          logFile: join(this.files.root, `node-${index}.log`),
        });
        this.#children.add(child);
        void child.exited.then(() => this.#children.delete(child));
        const timeout = AbortSignal.timeout(READY_TIMEOUT_MS);
        const ready = await Promise.race([
          child.ready,
          new Promise<never>((_, reject) => {
            timeout.addEventListener('abort', () => {
              reject(new Error(`node ${index} not ready in ${READY_TIMEOUT_MS} ms`));
            });
          }),
        ]).catch((e: unknown) => {
          throw new Error(`bench: ${String(e)}; its log: ${child.logTail(20).join('\n')}`);
        });
        const readyMs = performance.now() - started;
        const metricsUrl = /metrics (http:\S+)/.exec(ready)?.[1];
        if (metricsUrl === undefined) throw new Error(`bench: no metrics URL in "${ready}"`);
        this.nodes.set(index, { child, metricsUrl, last: NOTHING_STORED });
        return readyMs;
      }),
    );
  }

  async stop(indexes: readonly number[]): Promise<void> {
    await Promise.all(
      indexes.map(async (index) => {
        const node = this.nodes.get(index);
        if (node === undefined) return;
        this.nodes.delete(index);
        node.child.signal('SIGTERM');
        const kill = setTimeout(() => {
          node.child.signal('SIGKILL');
        }, STOP_GRACE_MS);
        await node.child.exited;
        clearTimeout(kill);
      }),
    );
  }

  /** Stops every node (those still starting too), then removes the files. */
  async close(): Promise<void> {
    await this.stop([...this.nodes.keys()]);
    for (const child of this.#children) child.signal('SIGKILL');
    await Promise.all([...this.#children].map((c) => c.exited));
    process.off('exit', this.#killAll);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    this.files.cleanup();
  }

  /**
   * When node `index` stored the one record issued at `issuedAt` that it stored since the last
   * scrape (wall clock, ms), or undefined if it has stored none. Each node reports (stored at −
   * issuedAt) in its lag histogram; the difference of its sums is that record's.
   */
  async storedAt(index: number, issuedAt: number): Promise<number | undefined> {
    const node = this.nodes.get(index);
    if (node === undefined) throw new Error(`bench: node ${index} is not running`);
    const now = await scrape(node.metricsUrl);
    const stored = now.stored - node.last.stored;
    if (stored === 0) return undefined;
    check(stored === 1, `node ${index} stored ${stored} records in one round`);
    const lagMs = now.lagSumMs - node.last.lagSumMs;
    node.last = now;
    return issuedAt + Math.round(lagMs);
  }
}

interface Round {
  readonly issuedAt: number;
  /** Wall clock and performance clock when the bench handed the record to the client. */
  readonly sentAt: number;
  readonly sentPerf: number;
  readonly result: RevokeResult;
}

async function revokeOne(
  quorum: Quorum,
  client: QuorumClient,
  during?: (sentPerf: number) => Promise<unknown>,
): Promise<Round> {
  const { nodeSet, adminSeeds } = quorum.files;
  const issuedAt = Date.now();
  const record = signRevocation(
    suite,
    nodeSet,
    {
      nodeSetId: nodeSet.id,
      kind: 'session',
      target: randomFillSync(new Uint8Array(TARGET_BYTES.session)),
      issuedAt,
      reason: 'bench',
    },
    adminSeeds.slice(0, 1),
  );
  const sentAt = Date.now();
  const sentPerf = performance.now();
  const [result] = await Promise.all([client.revoke(record), during?.(sentPerf)]);
  return { issuedAt, sentAt, sentPerf, result };
}

/** ms from sending until every running node had stored the record (each node's own clock). */
async function convergedMs(quorum: Quorum, round: Round): Promise<number> {
  const stored = await Promise.all(
    [...quorum.nodes.keys()].map((i) => quorum.storedAt(i, round.issuedAt)),
  );
  const last = Math.max(...stored.map((t) => t ?? Number.NaN));
  check(!Number.isNaN(last), 'every node acknowledged and stored the record');
  return last - round.sentAt;
}

/** Polls every node's /metrics until each counts `records`; ms from `sentPerf` until the last did. */
async function pollUntilHeld(quorum: Quorum, records: number, sentPerf: number): Promise<number> {
  const seen = await Promise.all(
    [...quorum.nodes.values()].map(async (node) => {
      for (;;) {
        if ((await scrape(node.metricsUrl)).records >= records) return performance.now();
        await sleep(POLL_INTERVAL_MS);
      }
    }),
  );
  return Math.max(...seen) - sentPerf;
}

function effectiveMs(round: Round, acknowledged: number): number {
  const ms = round.result.effectiveMs;
  check(
    round.result.acknowledged === acknowledged && ms !== undefined,
    `${acknowledged} nodes acknowledged a revocation (got ${round.result.acknowledged})`,
  );
  return ms ?? 0;
}

const median = (ms: readonly number[]): string => (latencies(ms).p50_ms ?? 0).toFixed(1);

async function runQuorum(context: StudyContext, quorum: Quorum): Promise<BenchResult[]> {
  const all = [...Array(NODES).keys()].map((i) => i + 1);
  const startMs = await quorum.start(all);
  context.progress(`${NODES} nodes ready in ${Math.max(...startMs).toFixed(0)} ms`);
  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const rows: BenchResult[] = [];
  try {
    let records = 0;
    const effective: number[] = [];
    const converged: number[] = [];
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      const round = await revokeOne(quorum, client);
      records += 1;
      const ms = effectiveMs(round, NODES);
      const all5 = await convergedMs(quorum, round);
      if (r >= WARMUP_ROUNDS) {
        effective.push(ms);
        converged.push(all5);
      }
      await sleep(SETTLE_MS);
    }
    context.progress(
      `${ROUNDS} revocations: effective ${median(effective)} ms, all ${NODES} hold it ${median(converged)} ms (medians)`,
    );
    rows.push(
      { name: NAME_EFFECTIVE, impl: 'qkms', ...latencies(effective) },
      { name: NAME_CONVERGED, impl: 'qkms', ...latencies(converged) },
    );

    if (context.wants(NAME_EFFECTIVE) || context.wants(NAME_CONVERGED)) {
      const scrapeMs: number[] = [];
      for (const node of quorum.nodes.values()) {
        const started = performance.now();
        await scrape(node.metricsUrl);
        scrapeMs.push(performance.now() - started);
      }
      const polledEffective: number[] = [];
      const polled: number[] = [];
      const own: number[] = [];
      for (let r = 0; r < POLLED_ROUNDS; r++) {
        let seenMs = 0;
        records += 1;
        const expected = records;
        const round = await revokeOne(quorum, client, async (sentPerf) => {
          seenMs = await pollUntilHeld(quorum, expected, sentPerf);
        });
        polledEffective.push(effectiveMs(round, NODES));
        polled.push(seenMs);
        own.push(await convergedMs(quorum, round));
        await sleep(SETTLE_MS);
      }
      context.progress(
        `${POLLED_ROUNDS} revocations polling /metrics every ${POLL_INTERVAL_MS} ms: effective ${median(polledEffective)} ms,` +
          ` all ${NODES} seen holding it ${median(polled)} ms (by the nodes' own clocks ${median(own)} ms);` +
          ` one idle scrape ${median(scrapeMs)} ms`,
      );
      rows.push(
        { name: NAME_EFFECTIVE, impl: 'qkms-polled', ...latencies(polledEffective) },
        { name: NAME_CONVERGED, impl: 'qkms-polled', ...latencies(polled) },
      );
    }

    if (context.wants(NAME_RESTART)) {
      const caughtUp: number[] = [];
      const ready: number[] = [];
      const afterReady: number[] = [];
      for (let r = 0; r < RESTARTS; r++) {
        await quorum.stop(RESTARTED);
        const round = await revokeOne(quorum, client);
        effectiveMs(round, NODES - RESTARTED.length);
        for (const i of quorum.nodes.keys()) await quorum.storedAt(i, round.issuedAt);
        const spawnedAt = Date.now();
        const readyMs = await quorum.start(RESTARTED);
        const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
        for (const [k, index] of RESTARTED.entries()) {
          for (;;) {
            const at = await quorum.storedAt(index, round.issuedAt);
            if (at !== undefined) {
              caughtUp.push(at - spawnedAt);
              ready.push(readyMs[k] ?? 0);
              afterReady.push(at - spawnedAt - (readyMs[k] ?? 0));
              break;
            }
            check(performance.now() < deadline, `node ${index} caught up within the timeout`);
            await sleep(20);
          }
        }
      }
      context.progress(
        `${RESTARTS} restarts of nodes ${RESTARTED.join(', ')}: holding the missed revocation` +
          ` ${median(caughtUp)} ms after spawn = ready ${median(ready)} ms + ${median(afterReady)} ms (medians)`,
      );
      rows.push({ name: NAME_RESTART, impl: 'qkms', ...latencies(caughtUp) });
    }
  } finally {
    await client.close();
  }
  return rows.filter((row) => context.wants(row.name));
}

export const quorumStudy: Study = {
  names: [NAME_EFFECTIVE, NAME_CONVERGED, NAME_RESTART],
  run: async (context) => {
    const quorum = new Quorum(await createQuorumFiles(NODES, THRESHOLD));
    try {
      return await runQuorum(context, quorum);
    } finally {
      await quorum.close();
    }
  },
};
