// A revocation on a real quorum (DESIGN.md, Revocation): 5 node processes (t = 3) on loopback
// and a QuorumClient in this process. How soon a revocation is effective (n - t + 1 durable
// acknowledgements), when all 5 nodes hold it, and how soon a node that was down holds it
// after it restarts (anti-entropy). test/perf/README.md says what each figure includes.
import { randomFillSync } from 'node:crypto';
import { QuorumClient, type RevokeResult } from '../../client/index.ts';
import { requireNativeSuite } from '../../protocol/index.ts';
import { TARGET_BYTES, signRevocation } from '../../revocation/index.ts';
import { check, latencies, type BenchResult, type Study, type StudyContext } from './harness.ts';
import { Quorum } from './quorum-processes.ts';

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

/**
 * When each node stored the records it stored, from its lag histogram (see storedAt). Holds the
 * last scrape of each node; a node (re)started begins with empty metrics.
 */
class StoredClock {
  readonly #quorum: Quorum;
  readonly #last = new Map<number, RevocationMetrics>();

  constructor(quorum: Quorum) {
    this.#quorum = quorum;
  }

  /** Starts these nodes (Quorum.start): their metrics begin empty. */
  async start(indexes: readonly number[]): Promise<number[]> {
    for (const index of indexes) this.#last.set(index, NOTHING_STORED);
    return this.#quorum.start(indexes);
  }

  /**
   * When node `index` stored the one record issued at `issuedAt` that it stored since the last
   * scrape (wall clock, ms), or undefined if it has stored none. Each node reports (stored at −
   * issuedAt) in its lag histogram; the difference of its sums is that record's.
   */
  async storedAt(index: number, issuedAt: number): Promise<number | undefined> {
    const node = this.#quorum.node(index);
    const last = this.#last.get(index) ?? NOTHING_STORED;
    const now = await scrape(node.metricsUrl);
    const stored = now.stored - last.stored;
    if (stored === 0) return undefined;
    check(stored === 1, `node ${index} stored ${stored} records in one round`);
    const lagMs = now.lagSumMs - last.lagSumMs;
    this.#last.set(index, now);
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
async function convergedMs(quorum: Quorum, clock: StoredClock, round: Round): Promise<number> {
  const stored = await Promise.all(
    [...quorum.nodes.keys()].map((i) => clock.storedAt(i, round.issuedAt)),
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
  const clock = new StoredClock(quorum);
  const all = [...Array(NODES).keys()].map((i) => i + 1);
  const startMs = await clock.start(all);
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
      const all5 = await convergedMs(quorum, clock, round);
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
        own.push(await convergedMs(quorum, clock, round));
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
        for (const i of quorum.nodes.keys()) await clock.storedAt(i, round.issuedAt);
        const spawnedAt = Date.now();
        const readyMs = await clock.start(RESTARTED);
        const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
        for (const [k, index] of RESTARTED.entries()) {
          for (;;) {
            const at = await clock.storedAt(index, round.issuedAt);
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
    const quorum = await Quorum.create(NODES, THRESHOLD, [
      ...['--revocation-sync-interval-ms', String(SYNC_INTERVAL_MS)],
    ]);
    try {
      return await runQuorum(context, quorum);
    } finally {
      await quorum.close();
    }
  },
};
