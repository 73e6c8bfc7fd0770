// Recover latency over a wide-area round trip (issue 18): recover.latency_3of5 with RTT_MS
// between the client and every node, and between nodes. This kernel has no sch_netem, so the
// delay is made in user space: each node runs in its own network namespace (netns.ts) and is
// reached only through a TCP proxy (delay-proxy.ts) in the root namespace that holds every
// chunk RTT_MS / 2 in each direction. The node set names the proxies' addresses, so clients
// and peers alike go through them; each node listens on its namespace's address behind.
//
//   client ──> 10.77.i.1:P  proxy (RTT/2 each way) ──veth──> 10.77.i.2:P  node i (netns i)
//   node j ──veth──> 10.77.i.1:P (a root-namespace address) ──> the same proxy ──> node i
//
// The proxy runs in a child process (spawnDelayProxy) unless QKMS_BENCH_WAN_PROXY=in-process,
// so that its timers and copies do not queue behind the client's work in this process.
// Then, cheaply, the same path with the delay set to 0: the figure without the round trip.
// Needs root and `ip netns`; without them the row says skipped and why, with no figures.
import { benchSession, publishedRecover } from './recover-setup.ts';
import { QuorumClient } from '../../client/index.ts';
import {
  spawnDelayProxy,
  startDelayProxy,
  type DelayProxy,
  type HoldStats,
} from './delay-proxy.ts';
import {
  check,
  distribution,
  quantile,
  type BenchResult,
  type Scenario,
  type Study,
} from './harness.ts';
import { sequential, type LoadRun } from './load.ts';
import { createWanNet, removeStale, unavailable, type WanNet } from './netns.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';

const NAME = 'recover.latency_3of5_wan';
const NODES = 5;
const THRESHOLD = 3;
/** The round trip added between the client and each node (and between nodes). */
const RTT_MS = 20;
/** The issue's targets: p50 <= RTT + 5 ms, p99 <= 2 RTT + 10 ms. */
const P50_TARGET_MS = RTT_MS + 5;
const P99_TARGET_MS = 2 * RTT_MS + 10;
/** As recover.latency_3of5: connections, JIT, the client's latency estimates. */
const WARMUP_RECOVERS = 50;
const LATENCY_RECOVERS = 500;
/** The same path without the delay, for comparison only: fewer, to keep the study short. */
const NO_DELAY_WARMUP_RECOVERS = 20;
const NO_DELAY_RECOVERS = 200;
const DELAY = 'user-space TCP proxy per node (not netem; this kernel has no sch_netem)';

/** A row of this study: what a reader must know to read its figures, in --json. */
interface WanResult extends BenchResult {
  readonly rtt_ms: number;
  readonly delay: string;
  /** Where the proxy ran: 'child-process' or 'in-process'. */
  readonly proxy: string;
  readonly p50_target_ms?: number;
  readonly p99_target_ms?: number;
  /** How long the proxies actually held each chunk, one way, ms (at least rtt_ms / 2). */
  readonly proxy_hold_p50_ms?: number;
  readonly proxy_hold_max_ms?: number;
}

/** The row of a run that could not measure: why, and no figures. */
interface SkippedResult extends BenchResult {
  readonly skipped: string;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const ms1 = (x: number): string => x.toFixed(1);

function describe(run: LoadRun): string {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  if (sorted.length === 0) return 'none succeeded';
  return (
    `p50 ${ms1(quantile(sorted, 0.5))} ms, p99 ${ms1(quantile(sorted, 0.99))} ms,` +
    ` max ${ms1(sorted.at(-1) ?? 0)} ms` +
    (run.errors === 0 ? '' : `, ${run.errors} errors (first: ${String(run.firstError)})`)
  );
}

/** The run against the issue's targets, for the progress line. */
function verdict(run: LoadRun): string {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no figure against the targets';
  const p50 = quantile(sorted, 0.5);
  const p99 = quantile(sorted, 0.99);
  const against = (x: number, target: number): string =>
    `${x <= target ? 'met' : `missed by ${ms1(x - target)} ms`} (<= ${target} ms)`;
  return `target p50 ${against(p50, P50_TARGET_MS)}, p99 ${against(p99, P99_TARGET_MS)}`;
}

function row(run: LoadRun, rttMs: number, proxy: string, holds: HoldStats): WanResult {
  check(run.latencies.length > 0, `${NAME}: some recover succeeded`);
  return {
    name: NAME,
    impl: rttMs === 0 ? 'same-path-no-delay' : `user-space-rtt-${rttMs}ms`,
    ...distribution(run.latencies),
    per_s: round((run.latencies.length * 1000) / run.elapsedMs, 1),
    ...(run.errors === 0 ? {} : { errors: run.errors }),
    rtt_ms: rttMs,
    delay: DELAY,
    proxy,
    ...(rttMs === 0 ? {} : { p50_target_ms: P50_TARGET_MS, p99_target_ms: P99_TARGET_MS }),
    proxy_hold_p50_ms: holds.p50Ms,
    proxy_hold_max_ms: holds.maxMs,
  };
}

async function measureRecovers(
  progress: (line: string) => void,
  quorum: Quorum,
  proxy: DelayProxy,
  proxyWhere: string,
): Promise<WanResult[]> {
  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const publisher = await benchSession(quorum, ['publish', 'recover']);
  const player = await benchSession(quorum, ['recover']);
  try {
    const { recover } = await publishedRecover(client, publisher, player);
    const rows: WanResult[] = [];
    for (const [rtt, warmup, count] of [
      [RTT_MS, WARMUP_RECOVERS, LATENCY_RECOVERS],
      [0, NO_DELAY_WARMUP_RECOVERS, NO_DELAY_RECOVERS],
    ] as const) {
      await proxy.setDelay(rtt / 2);
      await sequential(warmup, recover);
      await proxy.stats({ reset: true });
      const run = await sequential(count, recover);
      const holds = await proxy.stats();
      progress(
        `RTT ${rtt} ms: ${count} recovers, ${describe(run)}; proxies held` +
          ` ${holds.chunks} chunks p50 ${holds.p50Ms} ms, max ${holds.maxMs} ms one way` +
          (rtt === 0 ? '' : `; ${verdict(run)}`),
      );
      rows.push(row(run, rtt, proxyWhere, holds));
    }
    const [wan, plain] = rows;
    if (wan?.p50_ms !== undefined && plain?.p50_ms !== undefined)
      progress(`the round trip added ${ms1(wan.p50_ms - plain.p50_ms)} ms at p50 (same run)`);
    return rows;
  } finally {
    publisher.destroy();
    player.destroy();
    await client.close();
  }
}

/** Namespaces, proxies and nodes up; the measurement; everything down again, also on failure. */
async function runWan(progress: (line: string) => void): Promise<WanResult[]> {
  const stale = removeStale();
  if (stale.length > 0) progress(`removed a previous run's ${stale.join(', ')}`);
  const net: WanNet = createWanNet(NODES);
  const onExit = (): void => {
    net.close();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    net.close();
    process.kill(process.pid, signal);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let quorum: Quorum | undefined;
  let proxy: DelayProxy | undefined;
  try {
    const indexes = Array.from({ length: NODES }, (_, i) => i + 1);
    quorum = await Quorum.create(NODES, THRESHOLD, ROOMY_RATES, {
      announceHosts: indexes.map((i) => net.rootHost(i)),
      listenHost: (i) => net.nsHost(i),
      wrap: (i, command, args) => net.wrap(i, command, args),
    });
    const files = quorum.files;
    const routes = indexes.map((i) => {
      const port = files.ports[i - 1] ?? 0;
      return { listen: { host: net.rootHost(i), port }, target: { host: net.nsHost(i), port } };
    });
    const inProcess = process.env['QKMS_BENCH_WAN_PROXY'] === 'in-process';
    const where = inProcess ? 'in-process' : 'child-process';
    proxy = inProcess
      ? await startDelayProxy(routes, RTT_MS / 2)
      : await spawnDelayProxy(routes, RTT_MS / 2);
    const startMs = await quorum.start(indexes);
    progress(
      `${NODES} nodes in namespaces ${net.namespace(1)}..${NODES}, behind proxies (${where})` +
        ` adding ${RTT_MS / 2} ms each way; ready in ${Math.max(...startMs).toFixed(0)} ms`,
    );
    return await measureRecovers(progress, quorum, proxy, where);
  } finally {
    try {
      await quorum?.close();
      await proxy?.close();
    } finally {
      net.close();
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

const wanStudy: Study = {
  names: [NAME],
  run: async (context) => {
    const reason = unavailable();
    if (reason !== undefined) {
      context.progress(`${NAME} skipped: ${reason}`);
      const skipped: SkippedResult = { name: NAME, impl: 'skipped', skipped: reason };
      return [skipped];
    }
    return runWan(context.progress);
  },
};

export const wanBenches: readonly Scenario[] = [wanStudy];
