// Micro-benchmark harness: warm up, then time batches of iterations and keep the median per-op
// time across batches. Batching amortises the timer's own cost (a microsecond-scale op is timed
// over tens of milliseconds); the median ignores the batches a GC pause or a scheduler hiccup
// landed in. Figures are only ever printed, never asserted (STYLE.md, Tests and benchmarks).
// A Study measures itself instead (memory, a real quorum) with the helpers at the end.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What an op returns; the harness folds one byte or bit of it into a sink, so it stays live. */
export type Sinkable = Uint8Array | ArrayBuffer | boolean | number;

/** The operation to time, synchronous or awaited one call at a time. */
export type Op =
  | { readonly kind: 'sync'; readonly run: () => Sinkable }
  | { readonly kind: 'async'; readonly run: () => Promise<Sinkable> };

export const syncOp = (run: () => Sinkable): Op => ({ kind: 'sync', run });
export const asyncOp = (run: () => Promise<Sinkable>): Op => ({ kind: 'async', run });

/** One scenario: `name` is the operation (a stable identifier), `impl` who performs it. */
export interface Bench {
  readonly name: string;
  readonly impl: string;
  /** Builds keys and inputs outside the timed region; returns the op to time. */
  readonly setup: () => Op | Promise<Op>;
}

/**
 * One row of output. Micro benchmarks fill `ops_per_s` and `median_us`; load scenarios (network,
 * quorum) fill the latency, throughput and memory fields instead. Keys are the JSON field names.
 */
export interface BenchResult {
  readonly name: string;
  readonly impl: string;
  /** Operations per second, 1e6 / median_us. */
  readonly ops_per_s?: number;
  /** Median over samples of a batch's time divided by its iterations, in microseconds. */
  readonly median_us?: number;
  /** Latency percentiles of a load scenario, in milliseconds. */
  readonly p50_ms?: number;
  readonly p99_ms?: number;
  /** Completed requests per second under load. */
  readonly per_s?: number;
  /** Resident set size at the end of a load scenario, in MiB. */
  readonly rss_mb?: number;
  /** Largest latency of a latency scenario, in milliseconds. */
  readonly max_ms?: number;
  /** Latencies behind p50_ms, p99_ms and max_ms (p99 of a few dozen is close to the max). */
  readonly samples?: number;
  /** Memory scenarios: JS heap plus ArrayBuffer bytes a structure holds (grown by building it, after full GCs). */
  readonly bytes?: number;
  /** `bytes` over the records the structure holds. */
  readonly bytes_per_record?: number;
  /** What the structure reports it holds (RevocationSet.memoryBytes), bytes. */
  readonly memory_bytes?: number;
  /** Latency percentiles (keys PERCENTILES: "p1" … "p99.9"), ms: the distribution plot-latency.ts draws. */
  readonly percentiles_ms?: Readonly<Record<string, number>>;
  /** A degraded latency scenario's p99 over the healthy one's in the same run. */
  readonly p99_vs_healthy?: number;
  /** Operations in flight at once (a throughput level: client concurrency). */
  readonly concurrency?: number;
  /** Operations that failed (a load scenario counts them instead of stopping). */
  readonly errors?: number;
  /** CPU time one operation costs, all processes together, ms (recover.floor; throughput levels). */
  readonly cpu_ms?: number;
  /** The client process's part of cpu_ms. */
  readonly client_cpu_ms?: number;
  /** The node processes' part of cpu_ms, per node asked (nodes_asked of them). */
  readonly node_cpu_ms?: number;
  /** Nodes asked per recover, on average (t, plus the hedge node when one of them was late). */
  readonly nodes_asked?: number;
  /** Operations per second this machine's cores could do at cpu_ms each: cores x 1000 / cpu_ms. */
  readonly bound_per_s?: number;
  /** Achieved throughput (per_s) over the crypto floor's bound_per_s. */
  readonly of_floor?: number;
  /** Measured cpu_ms over the crypto floor's cpu_ms: how many times the floor the stack costs. */
  readonly vs_floor?: number;
  /** Idle client connections behind a memory figure (rss_mb is then per 1,000 of them). */
  readonly connections?: number;
}

/** What a Study may do besides measuring: say how far it got, ask which rows are wanted. */
export interface StudyContext {
  /** Whether --filter selects the result `name` (a study reports only those, and may skip work). */
  readonly wants: (name: string) => boolean;
  /** A progress line on stderr. */
  readonly progress: (line: string) => void;
  /** The rows of this run so far (a study may build on the micro benchmarks before it). */
  readonly results: readonly BenchResult[];
}

/**
 * A scenario that takes its own measurements and reports one or more rows: memory held by a
 * structure, latencies of a real quorum of node processes. One setup serves all its rows.
 */
export interface Study {
  /** The result names it can report; --filter selects the study when one of them matches. */
  readonly names: readonly string[];
  readonly run: (context: StudyContext) => Promise<readonly BenchResult[]>;
}

export type Scenario = Bench | Study;

export const isStudy = (scenario: Scenario): scenario is Study => 'run' in scenario;

export interface MeasureOptions {
  /** Time spent running the op before sampling, so the JIT and caches settle. */
  readonly warmupMs: number;
  /** Target duration of one sample; the batch size is calibrated to it during warm-up. */
  readonly sampleMs: number;
  /** Samples taken, unless `maxSamplingMs` runs out first. */
  readonly samples: number;
  /** Samples taken however slow the op (a median of fewer says little). */
  readonly minSamples: number;
  /** Sampling stops past this (after minSamples), so slow pure-JS ops keep the run short. */
  readonly maxSamplingMs: number;
}

export const DEFAULT_MEASURE: MeasureOptions = {
  warmupMs: 200,
  sampleMs: 30,
  samples: 25,
  minSamples: 7,
  maxSamplingMs: 2_500,
};

/** Extra detail for the progress line, not part of the result. */
export interface MeasureDetail {
  readonly samples: number;
  readonly batch: number;
  /** Interquartile range of the per-op times, relative to the median. */
  readonly iqrRel: number;
}

let sink = 0;

function fold(value: Sinkable): void {
  if (typeof value === 'boolean') sink ^= value ? 1 : 0;
  else if (typeof value === 'number') sink ^= value | 0;
  else {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
    sink ^= bytes[0] ?? bytes.length;
  }
}

/** The value every op result was folded into; print it somewhere so no result is dead. */
export function sinkValue(): number {
  return sink;
}

/** Runs `op` `n` times; returns the elapsed milliseconds. */
async function runBatch(op: Op, n: number): Promise<number> {
  const start = performance.now();
  if (op.kind === 'sync') {
    const run = op.run;
    for (let i = 0; i < n; i++) fold(run());
  } else {
    const run = op.run;
    for (let i = 0; i < n; i++) fold(await run());
  }
  return performance.now() - start;
}

/** The q-quantile (0..1) of ascending `sorted`, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile: expected a non-empty array, got 0');
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
  return a + (b - a) * (pos - lo);
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export async function measure(
  bench: Bench,
  options: MeasureOptions = DEFAULT_MEASURE,
): Promise<{ result: BenchResult; detail: MeasureDetail }> {
  const op = await bench.setup();

  // Warm-up doubles as calibration: batches that double in size (without overrunning warmupMs
  // by much) until warmupMs has passed. The per-op estimate is the mean over all but the first,
  // coldest call: a mean, because some ops vary call to call (ML-DSA signing's rejection loop).
  const firstMs = await runBatch(op, 1);
  let warmMs = 0;
  let warmOps = 0;
  for (let n = 1; warmMs + firstMs < options.warmupMs || warmOps < 2;) {
    warmMs += await runBatch(op, n);
    warmOps += n;
    const perOp = warmMs / warmOps;
    const fits = perOp > 0 ? Math.ceil((options.warmupMs - firstMs - warmMs) / perOp) : 2 * n;
    n = Math.max(1, Math.min(2 * n, fits));
  }
  const batch = Math.max(1, Math.round((options.sampleMs * warmOps) / Math.max(warmMs, 1e-6)));

  const perOpUs: number[] = [];
  const started = performance.now();
  while (
    perOpUs.length < options.samples &&
    (perOpUs.length < options.minSamples || performance.now() - started < options.maxSamplingMs)
  ) {
    perOpUs.push(((await runBatch(op, batch)) * 1000) / batch);
  }
  perOpUs.sort((a, b) => a - b);
  const median = quantile(perOpUs, 0.5);
  return {
    result: {
      name: bench.name,
      impl: bench.impl,
      ops_per_s: round(1e6 / median, 1),
      median_us: round(median, 3),
    },
    detail: {
      samples: perOpUs.length,
      batch,
      iqrRel: (quantile(perOpUs, 0.75) - quantile(perOpUs, 0.25)) / median,
    },
  };
}

/** p50, p99 and max of latencies in milliseconds, rounded to microseconds. */
export function latencies(
  ms: readonly number[],
): Pick<BenchResult, 'p50_ms' | 'p99_ms' | 'max_ms' | 'samples'> {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    p50_ms: round(quantile(sorted, 0.5), 3),
    p99_ms: round(quantile(sorted, 0.99), 3),
    max_ms: round(sorted.at(-1) ?? 0, 3),
    samples: sorted.length,
  };
}

/** The percentiles percentiles_ms keeps: enough to draw a distribution, few enough for small JSON. */
export const PERCENTILES: readonly number[] = [
  1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9,
];

/** latencies() plus the PERCENTILES of `ms` (linear interpolation), as percentiles_ms. */
export function distribution(
  ms: readonly number[],
): Pick<BenchResult, 'p50_ms' | 'p99_ms' | 'max_ms' | 'samples' | 'percentiles_ms'> {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    ...latencies(sorted),
    percentiles_ms: Object.fromEntries(
      PERCENTILES.map((p) => [`p${p}`, round(quantile(sorted, p / 100), 3)]),
    ),
  };
}

/** A full garbage collection: `gc` from --expose-gc (npm run bench passes it), else exposed here. */
function fullGc(): void {
  if (globalThis.gc === undefined) {
    setFlagsFromString('--expose-gc');
    globalThis.gc = runInNewContext('gc') as NodeJS.GCFunction;
  }
  globalThis.gc();
}

/**
 * JS heap plus ArrayBuffer bytes in use after full GCs: what live objects hold, garbage
 * excluded. Two collections, so objects freed by the first one's finalizers go too.
 */
export function heldBytes(): number {
  fullGc();
  fullGc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Setup-time sanity check: a benchmark of an op that silently fails measures nothing. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`bench setup: ${what}`);
}
