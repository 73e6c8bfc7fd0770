// The whole system against a real quorum (DESIGN.md, Recover and Publish): 5 node processes
// (t = 3) on loopback and one QuorumClient (default hedge) with a publisher and a player
// Session in this process. One study, one quorum, in this order:
//   node.cold_start_ms        each node started alone: spawn to ready line;
//   recover.latency_3of5      warm sequential recovers of one content;
//   node.rss_mb idle          every node's RSS after that;
//   recover.throughput_3of5   recovers/s at concurrency 1..32, CPU of every process, peak RSS;
//   recover.floor             the crypto a recover must pay (recover-floor.ts) against that;
//   publish.latency_3of5      sequential publishes;
//   …_one_slow, …_one_down    node 5 restarted with a 50 ms answer delay, then stopped;
//   …_two_hung                nodes 1 and 2 stopped with SIGSTOP (silent, sockets open);
//   node.rss_mb per 1,000 idle client connections (idle-connections.ts), node 1 restarted.
// test/perf/README.md says what each figure includes.
import { availableParallelism } from 'node:os';
import { benchSession, publishedRecover } from './recover-setup.ts';
import { QuorumClient } from '../../client/index.ts';
import {
  check,
  distribution,
  latencies,
  quantile,
  type BenchResult,
  type Scenario,
  type Study,
  type StudyContext,
} from './harness.ts';
import { idleConnections } from './idle-connections.ts';
import { concurrent, sequential, type Call, type LoadRun } from './load.ts';
import { cpuMs, rssMb, sampleRss, selfCpuMs } from './proc-stats.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';
import { floorRows, recoverFloor } from './recover-floor.ts';

const NODES = 5;
const THRESHOLD = 3;
/** Recovers before measuring: connections, JIT, the client's latency estimates. */
const WARMUP_RECOVERS = 50;
const LATENCY_RECOVERS = 500;
const WARMUP_PUBLISHES = 5;
const PUBLISHES = 100;
const LEVELS: readonly number[] = [1, 2, 4, 8, 16, 32];
const LEVEL_WARMUP_MS = 500;
const LEVEL_MS = 3_000;
/** The knee: the highest throughput whose p99 stays within this (the bound). */
const KNEE_P99_MS = 100;
const RSS_SAMPLE_MS = 100;
/** The node slowed, then stopped. */
const DEGRADED = 5;
/** Its answer delay (--test-delay-ms, needs QKMS_ENABLE_TEST_FAULTS=1). */
const SLOW_DELAY_MS = 50;
/** Nodes that go silent (SIGSTOP: alive, connections open, no answer), then continue. */
const HUNG: readonly number[] = [1, 2];
/**
 * Idle client connections opened to CONNECTIONS_NODE, restarted with --max-connections (its
 * default, 256, would not matter: see idle-connections.ts). 1,000 client hosts take about
 * 5 s to connect and 120 MiB in this process.
 */
const CONNECTIONS = 1_000;
const CONNECTIONS_NODE = 1;
const CONNECTIONS_MAX = 4_096;
/** Between a warm-up and a memory read: in-flight work and its garbage settle. */
const SETTLE_MS = 1_000;
/** The idle nodes' CPU is read over this. */
const IDLE_CPU_MS = 2_000;

const NAME = {
  latency: 'recover.latency_3of5',
  oneDown: 'recover.latency_3of5_one_down',
  oneSlow: 'recover.latency_3of5_one_slow',
  twoHung: 'recover.latency_3of5_two_hung',
  throughput: 'recover.throughput_3of5',
  floor: 'recover.floor',
  publish: 'publish.latency_3of5',
  coldStart: 'node.cold_start_ms',
  rss: 'node.rss_mb',
} as const;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const ms1 = (x: number | undefined): string => (x ?? 0).toFixed(1);
const median = (xs: readonly number[]): number => latencies(xs).p50_ms ?? 0;

/** p50 and p99 of a run's latencies, ms (0 when none succeeded). */
function percentiles(run: LoadRun): { p50: number; p99: number } {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  if (sorted.length === 0) return { p50: 0, p99: 0 };
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

/** What one load run says about latency, and its first error if any. */
function describe(run: LoadRun): string {
  const { p50, p99 } = percentiles(run);
  const errors =
    run.errors === 0
      ? ''
      : `, ${run.errors} errors (first: ${run.firstError instanceof Error ? run.firstError.message : String(run.firstError)})`;
  return `p50 ${ms1(p50)} ms, p99 ${ms1(p99)} ms${errors}`;
}

function latencyRow(name: string, run: LoadRun): BenchResult {
  check(run.latencies.length > 0, `${name}: some operation succeeded`);
  return {
    name,
    impl: 'qkms',
    ...distribution(run.latencies),
    per_s: round((run.latencies.length * 1000) / run.elapsedMs, 1),
    ...(run.errors === 0 ? {} : { errors: run.errors }),
  };
}

/** CPU time of this process and of every running node, ms. */
function cpuSnapshot(quorum: Quorum): { client: number; nodes: number } {
  let nodes = 0;
  for (const node of quorum.nodes.values()) nodes += cpuMs(node.pid);
  return { client: selfCpuMs(), nodes };
}

interface Level {
  readonly row: BenchResult;
  readonly perS: number;
  readonly p99: number;
  readonly cpuMs: number;
  readonly clientCpuMs: number;
  readonly nodesAsked: number;
}

async function throughput(
  context: StudyContext,
  quorum: Quorum,
  recover: Call,
  asked: { readonly nodes: number; readonly recovers: number },
): Promise<{ levels: Level[]; peakRss: Map<number, number> }> {
  const pids = [...quorum.nodes.values()].map((n) => n.pid);
  const sampler = sampleRss(pids, RSS_SAMPLE_MS);
  const levels: Level[] = [];
  try {
    for (const concurrency of LEVELS) {
      await concurrent(concurrency, { durationMs: LEVEL_WARMUP_MS }, recover);
      const before = cpuSnapshot(quorum);
      const askedBefore = { ...asked };
      const run = await concurrent(concurrency, { durationMs: LEVEL_MS }, recover);
      const after = cpuSnapshot(quorum);
      const nodesAsked =
        (asked.nodes - askedBefore.nodes) / Math.max(asked.recovers - askedBefore.recovers, 1);
      const done = Math.max(run.latencies.length, 1);
      const clientCpuMs = (after.client - before.client) / done;
      const cpu = clientCpuMs + (after.nodes - before.nodes) / done;
      const perS = (run.latencies.length * 1000) / run.elapsedMs;
      const { p50, p99 } = percentiles(run);
      context.progress(
        `concurrency ${concurrency}: ${perS.toFixed(0)} recovers/s, ${describe(run)},` +
          ` CPU ${cpu.toFixed(2)} ms/recover (client ${clientCpuMs.toFixed(2)})`,
      );
      levels.push({
        row: {
          name: NAME.throughput,
          impl: 'qkms',
          concurrency,
          per_s: round(perS, 1),
          p50_ms: round(p50, 3),
          p99_ms: round(p99, 3),
          samples: run.latencies.length,
          cpu_ms: round(cpu, 3),
          client_cpu_ms: round(clientCpuMs, 3),
          node_cpu_ms: round((cpu - clientCpuMs) / nodesAsked, 3),
          nodes_asked: round(nodesAsked, 2),
          ...(run.errors === 0 ? {} : { errors: run.errors }),
        },
        perS,
        p99,
        cpuMs: cpu,
        clientCpuMs,
        nodesAsked,
      });
    }
  } catch (e) {
    sampler.stop();
    throw e;
  }
  return { levels, peakRss: sampler.stop() };
}

async function runStudy(context: StudyContext, quorum: Quorum): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const wants = (...names: string[]): boolean => names.some(context.wants);

  // Cold start: one node at a time, so each start has the machine to itself.
  const coldStart: number[] = [];
  for (let index = 1; index <= NODES; index++) coldStart.push(...(await quorum.start([index])));
  context.progress(
    `${NODES} nodes started one by one, spawn to ready: ${coldStart.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  );

  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const publisher = await benchSession(quorum, ['publish', 'recover']);
  const player = await benchSession(quorum, ['recover']);
  try {
    /** Nodes asked by the recovers so far (delayed hedging asks t unless one is late). */
    const asked = { nodes: 0, recovers: 0 };
    const { recover } = await publishedRecover(client, publisher, player, (report) => {
      asked.nodes += report.filter((r) => r.outcome !== 'not-asked').length;
      asked.recovers += 1;
    });
    const warmLatency = async (name: string): Promise<BenchResult> => {
      await sequential(WARMUP_RECOVERS, recover);
      const run = await sequential(LATENCY_RECOVERS, recover);
      context.progress(`${name}: ${LATENCY_RECOVERS} recovers, ${describe(run)}`);
      return latencyRow(name, run);
    };

    const healthy = await warmLatency(NAME.latency);
    rows.push(healthy);
    const vsHealthy = (row: BenchResult): BenchResult => ({
      ...row,
      p99_vs_healthy: round((row.p99_ms ?? 0) / (healthy.p99_ms ?? 1), 2),
    });

    // Idle: memory, and the CPU a node spends with nothing to do (timers, anti-entropy rounds):
    // part of what the throughput levels' cpu_ms includes.
    await sleep(SETTLE_MS);
    const idleBefore = cpuSnapshot(quorum);
    await sleep(IDLE_CPU_MS);
    const idleCpu = (cpuSnapshot(quorum).nodes - idleBefore.nodes) / NODES / (IDLE_CPU_MS / 1000);
    const idle = [...quorum.nodes.values()].map((n) => rssMb(n.pid));
    context.progress(
      `node RSS idle: ${idle.map((mb) => mb.toFixed(0)).join(', ')} MiB;` +
        ` idle CPU ${idleCpu.toFixed(1)} ms/s per node`,
    );
    rows.push({ name: NAME.rss, impl: 'idle', rss_mb: round(median(idle), 1) });

    if (wants(NAME.throughput, NAME.floor, NAME.rss)) {
      const { levels, peakRss } = await throughput(context, quorum, recover, asked);
      const peaks = [...peakRss.values()];
      context.progress(
        `node RSS peak under load: ${peaks.map((mb) => mb.toFixed(0)).join(', ')} MiB`,
      );
      rows.push({ name: NAME.rss, impl: 'throughput-peak', rss_mb: round(Math.max(...peaks), 1) });
      rows.push(...levels.map((l) => l.row));
      const within = levels.filter((l) => l.p99 <= KNEE_P99_MS && l.row.errors === undefined);
      const knee = within.length > 0;
      const best = (knee ? within : levels).reduce((a, b) => (b.perS > a.perS ? b : a));
      const cores = availableParallelism();
      // The floor asks t nodes: with delayed hedging that is what a healthy recover needs.
      const floor = await recoverFloor(context, THRESHOLD, 0, cores);
      if (floor.measuredHere.length > 0)
        context.progress(
          `floor: measured here (not in this run): ${floor.measuredHere.join('; ')}`,
        );
      context.progress(
        `floor: ${floor.totalMs.toFixed(2)} ms CPU/recover (client ${floor.clientMs.toFixed(2)}` +
          ` + ${THRESHOLD} x node ${floor.nodeMs.toFixed(2)}) = ${floor.boundPerS.toFixed(0)} recovers/s on ${cores} cores;` +
          ` ${knee ? 'knee' : 'best (no level within the p99 bound)'} ${best.perS.toFixed(0)}/s at concurrency` +
          ` ${best.row.concurrency ?? '?'} = ${((100 * best.perS) / floor.boundPerS).toFixed(0)}% of it;` +
          ` measured ${best.cpuMs.toFixed(2)} ms CPU/recover = ${(best.cpuMs / floor.totalMs).toFixed(1)}x the floor`,
      );
      rows.push({
        name: NAME.throughput,
        impl: knee ? 'knee' : 'best',
        concurrency: best.row.concurrency ?? 0,
        per_s: round(best.perS, 1),
        ...(best.row.p50_ms === undefined ? {} : { p50_ms: best.row.p50_ms }),
        p99_ms: round(best.p99, 3),
        of_floor: round(best.perS / floor.boundPerS, 3),
      });
      rows.push(...floorRows(floor, best, cores));
    }

    if (wants(NAME.publish)) {
      const publish: Call = async () => {
        const result = await client.publish(publisher, { policy: { kind: 'open' } });
        result.cek.fill(0);
        if (result.receipts.some((r) => r.outcome !== 'ok')) throw new Error('a node refused');
      };
      await sequential(WARMUP_PUBLISHES, publish);
      const run = await sequential(PUBLISHES, publish);
      context.progress(`${NAME.publish}: ${PUBLISHES} publishes, ${describe(run)}`);
      rows.push(latencyRow(NAME.publish, run));
    }

    if (wants(NAME.oneSlow)) {
      await quorum.stop([DEGRADED]);
      coldStart.push(
        ...(await quorum.start([DEGRADED], {
          args: ['--test-delay-ms', String(SLOW_DELAY_MS)],
          env: { QKMS_ENABLE_TEST_FAULTS: '1' },
        })),
      );
      rows.push(vsHealthy(await warmLatency(NAME.oneSlow)));
    }
    if (wants(NAME.oneDown)) {
      await quorum.stop([DEGRADED]);
      rows.push(vsHealthy(await warmLatency(NAME.oneDown)));
    }
    // Last of the latency scenarios: the silent nodes leave the client's estimates penalised.
    if (wants(NAME.twoHung)) {
      if (wants(NAME.oneSlow) || wants(NAME.oneDown)) {
        // All five up and healthy again; not a cold-start sample.
        await quorum.stop([DEGRADED]);
        await quorum.start([DEGRADED]);
      }
      const hung = HUNG.map((index) => quorum.node(index));
      for (const node of hung) node.child.signal('SIGSTOP');
      try {
        rows.push(vsHealthy(await warmLatency(NAME.twoHung)));
      } finally {
        for (const node of hung) node.child.signal('SIGCONT');
      }
    }
  } finally {
    publisher.destroy();
    player.destroy();
    await client.close();
  }

  if (wants(NAME.rss)) {
    await quorum.stop([CONNECTIONS_NODE]);
    coldStart.push(
      ...(await quorum.start([CONNECTIONS_NODE], {
        // The idle connections all come from 127.0.0.1: lift the per-address cap for them.
        args: [
          ...['--max-connections', String(CONNECTIONS_MAX)],
          ...['--max-connections-per-ip', String(CONNECTIONS_MAX)],
        ],
      })),
    );
    await sleep(SETTLE_MS);
    const c = await idleConnections(quorum, CONNECTIONS_NODE, CONNECTIONS);
    const perThousand = ((c.rssAfterMb - c.rssBeforeMb) * 1000) / Math.max(c.open, 1);
    context.progress(
      `${c.open} idle connections to node ${CONNECTIONS_NODE} (${c.failed} failed dials) opened in` +
        ` ${(c.openMs / 1000).toFixed(1)} s (${((c.open * 1000) / c.openMs).toFixed(0)}/s from 127.0.0.1, allow-listed):` +
        ` RSS ${c.rssBeforeMb.toFixed(0)} -> ${c.rssAfterMb.toFixed(0)} MiB, ${perThousand.toFixed(0)} MiB per 1,000`,
    );
    rows.push({
      name: NAME.rss,
      impl: 'per-1000-connections',
      rss_mb: round(perThousand, 1),
      connections: c.open,
    });
  }

  context.progress(
    `${NAME.coldStart}: ${coldStart.length} starts, median ${median(coldStart).toFixed(0)} ms`,
  );
  rows.push({ name: NAME.coldStart, impl: 'qkms', ...latencies(coldStart) });
  return rows.filter((row) => context.wants(row.name));
}

const recoverStudy: Study = {
  names: Object.values(NAME),
  run: async (context) => {
    const quorum = await Quorum.create(NODES, THRESHOLD, ROOMY_RATES);
    try {
      return await runStudy(context, quorum);
    } finally {
      await quorum.close();
    }
  },
};

export const recoverBenches: readonly Scenario[] = [recoverStudy];
