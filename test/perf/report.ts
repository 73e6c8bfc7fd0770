// What a run prints: the runtime it ran on, and the results as JSON or as a table grouped by
// scenario name with each implementation's throughput relative to the group's baseline.
import { availableParallelism, cpus, totalmem } from 'node:os';
import type { BenchResult } from './harness.ts';

export interface Runtime {
  readonly node: string;
  readonly v8: string;
  readonly openssl: string;
  readonly platform: string;
  readonly arch: string;
  readonly cpus: { readonly model: string; readonly count: number };
  /** Physical memory, GiB. */
  readonly totalmem_gb: number;
}

export function runtimeInfo(): Runtime {
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: process.platform,
    arch: process.arch,
    cpus: { model: cpus()[0]?.model.trim() ?? 'unknown', count: availableParallelism() },
    totalmem_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
  };
}

/**
 * Libraries qkms is measured against. A group's baseline is the first of these present in it,
 * else `qkms-noble` (the pure-JS backend the native one replaces), else none.
 */
export const FOREIGN_IMPLS = [
  '@noble/post-quantum',
  '@hpke/hybridkem-x-wing',
  'shamir-secret-sharing',
  // Not a library: the revocation set a Set<string> of hex strings would make (revocation.bench.ts).
  'Set<string>',
] as const;
const FALLBACK_BASELINE = 'qkms-noble';

/** Throughput a ratio compares: ops/s of a micro benchmark, requests/s of a load scenario. */
const throughput = (r: BenchResult): number | undefined => r.ops_per_s ?? r.per_s;

export function baselineOf(group: readonly BenchResult[]): BenchResult | undefined {
  const impls: readonly string[] = [...FOREIGN_IMPLS, FALLBACK_BASELINE];
  for (const impl of impls) {
    const found = group.find(
      (r) => r.impl === impl && (throughput(r) !== undefined || r.bytes_per_record !== undefined),
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Results grouped by name, groups in order of first appearance. */
function groups(results: readonly BenchResult[]): BenchResult[][] {
  const byName = new Map<string, BenchResult[]>();
  for (const r of results) {
    const group = byName.get(r.name);
    if (group === undefined) byName.set(r.name, [r]);
    else group.push(r);
  }
  return [...byName.values()];
}

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const MIB = 2 ** 20;

/** About three significant digits, thousands grouped: 1,234 / 56.7 / 8.91 / 0.123. */
function num(x: number | undefined): string {
  if (x === undefined) return '';
  if (Math.abs(x) >= 100) return grouping.format(x);
  return x.toFixed(Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3);
}

function ratio(r: BenchResult, baseline: BenchResult | undefined): string {
  if (baseline === undefined) return '';
  if (r === baseline) return 'baseline';
  const times = (x: number): string =>
    `x${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)}`;
  const mine = throughput(r);
  const base = throughput(baseline);
  if (mine !== undefined && base !== undefined && base !== 0)
    return `${times(mine / base)} vs ${baseline.impl}`;
  // Memory rows: bytes per record over the baseline's (below 1: smaller).
  const held = r.bytes_per_record;
  const baseHeld = baseline.bytes_per_record;
  if (held !== undefined && baseHeld !== undefined && baseHeld !== 0)
    return `${times(held / baseHeld)} bytes vs ${baseline.impl}`;
  return '';
}

interface Column {
  readonly title: string;
  readonly align: 'left' | 'right';
  readonly cell: (r: BenchResult, baseline: BenchResult | undefined) => string;
  /** Shown only when some result has the field (load-scenario columns). */
  readonly optional?: keyof BenchResult;
}

const COLUMNS: readonly Column[] = [
  { title: 'name', align: 'left', cell: (r) => r.name },
  { title: 'impl', align: 'left', cell: (r) => r.impl },
  { title: 'ops/s', align: 'right', cell: (r) => num(r.ops_per_s), optional: 'ops_per_s' },
  { title: 'median µs', align: 'right', cell: (r) => num(r.median_us), optional: 'median_us' },
  { title: 'p50 ms', align: 'right', cell: (r) => num(r.p50_ms), optional: 'p50_ms' },
  { title: 'p99 ms', align: 'right', cell: (r) => num(r.p99_ms), optional: 'p99_ms' },
  { title: 'req/s', align: 'right', cell: (r) => num(r.per_s), optional: 'per_s' },
  { title: 'rss MB', align: 'right', cell: (r) => num(r.rss_mb), optional: 'rss_mb' },
  {
    title: 'conc',
    align: 'right',
    cell: (r) => r.concurrency?.toString() ?? '',
    optional: 'concurrency',
  },
  { title: 'cpu ms', align: 'right', cell: (r) => num(r.cpu_ms), optional: 'cpu_ms' },
  {
    title: 'client ms',
    align: 'right',
    cell: (r) => num(r.client_cpu_ms),
    optional: 'client_cpu_ms',
  },
  { title: 'node ms', align: 'right', cell: (r) => num(r.node_cpu_ms), optional: 'node_cpu_ms' },
  { title: 'bound/s', align: 'right', cell: (r) => num(r.bound_per_s), optional: 'bound_per_s' },
  {
    title: 'of floor',
    align: 'right',
    cell: (r) => (r.of_floor === undefined ? '' : `${(r.of_floor * 100).toFixed(0)}%`),
    optional: 'of_floor',
  },
  {
    title: 'x floor',
    align: 'right',
    cell: (r) => (r.vs_floor === undefined ? '' : `x${r.vs_floor.toFixed(1)}`),
    optional: 'vs_floor',
  },
  {
    title: 'p99/healthy',
    align: 'right',
    cell: (r) => (r.p99_vs_healthy === undefined ? '' : `x${r.p99_vs_healthy.toFixed(2)}`),
    optional: 'p99_vs_healthy',
  },
  {
    title: 'errors',
    align: 'right',
    cell: (r) => r.errors?.toString() ?? '',
    optional: 'errors',
  },
  {
    title: 'conns',
    align: 'right',
    cell: (r) => r.connections?.toString() ?? '',
    optional: 'connections',
  },
  { title: 'max ms', align: 'right', cell: (r) => num(r.max_ms), optional: 'max_ms' },
  { title: 'n', align: 'right', cell: (r) => r.samples?.toString() ?? '', optional: 'samples' },
  {
    title: 'held MiB',
    align: 'right',
    cell: (r) => num(r.bytes === undefined ? undefined : r.bytes / MIB),
    optional: 'bytes',
  },
  {
    title: 'B/record',
    align: 'right',
    cell: (r) => num(r.bytes_per_record),
    optional: 'bytes_per_record',
  },
  {
    title: 'self MiB',
    align: 'right',
    cell: (r) => num(r.memory_bytes === undefined ? undefined : r.memory_bytes / MIB),
    optional: 'memory_bytes',
  },
  { title: 'ratio', align: 'left', cell: ratio },
];

export function formatHeader(runtime: Runtime, method: string): string {
  return [
    `qkms benchmarks: node ${runtime.node}, V8 ${runtime.v8}, OpenSSL ${runtime.openssl}`,
    `${runtime.platform} ${runtime.arch}, ${runtime.cpus.count} x ${runtime.cpus.model}, ${runtime.totalmem_gb} GiB`,
    method,
    'ratio: ops/s over the baseline ops/s in the same run (baseline: the other library, else qkms-noble);' +
      " memory rows: bytes/record over the baseline's",
  ].join('\n');
}

export function formatTable(results: readonly BenchResult[]): string {
  const columns = COLUMNS.filter((c) => {
    const key = c.optional;
    return key === undefined || results.some((r) => r[key] !== undefined);
  });
  const rows: (string[] | null)[] = [];
  for (const group of groups(results)) {
    if (rows.length > 0) rows.push(null);
    const baseline = baselineOf(group);
    for (const r of group) rows.push(columns.map((c) => c.cell(r, baseline)));
  }
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...rows.map((row) => row?.[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return columns[i]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    line(columns.map((c) => c.title)),
    rule,
    ...rows.map((row) => (row === null ? '' : line(row))),
  ].join('\n');
}
