// Issue 18's targets against one bench run: a Markdown table of each target, the run's figure
// and whether it was met. Every figure comes from the run's JSON; a row the run lacks (or
// skipped) reads "not measured", never a figure from elsewhere.
//
//   npm run -s bench -- --json > out.json
//   npx node test/perf/targets.ts out.json
//   (npx node: the project's pinned Node, which strips the types; a system Node may not)
//
// It prints the table on stdout and exits 0 whether targets are met or not: a report, not a
// test (STYLE.md, Tests and benchmarks).
import { readFileSync } from 'node:fs';
import type { BenchResult } from './harness.ts';

/** The knee's p99 bound (recover.bench.ts KNEE_P99_MS): the knee row is chosen by it. */
const KNEE_P99_MS = 100;
/** recover.latency_3of5_wan's round trip when its row does not say (wan.bench.ts RTT_MS). */
const DEFAULT_RTT_MS = 20;
/** Cold-start rows of a keystore that needs unlocking: reported, no target. */
const ENCRYPTED_KEYSTORE = /encrypted|passphrase/;

const USAGE = 'usage: npx node test/perf/targets.ts BENCH.json';

/** What a run says about one target: its figure, and met (true), missed (false) or no target. */
interface Verdict {
  readonly figure: string;
  readonly met: boolean | undefined;
}

/** Why a target has no figure: the row is absent, or the run skipped it (and said why). */
interface Unmeasured {
  readonly skipped: string | undefined;
}

interface TargetSpec {
  /** The row (and field) judged, Markdown. */
  readonly figure: string;
  /** The target, Markdown; from the row when the bound depends on it (the WAN round trip). */
  readonly target: string | ((row: BenchResult | undefined) => string);
  /** The row this target reads, if the run has it. */
  readonly row: (results: readonly BenchResult[]) => BenchResult | undefined;
  /** The verdict, or undefined when the row lacks the figure. */
  readonly judge: (row: BenchResult, results: readonly BenchResult[]) => Verdict | undefined;
  /** Listed only when the run has the row (a figure reported without a target). */
  readonly optional?: boolean;
}

/** One line of the table, cells as printed. */
export interface TargetLine {
  readonly figure: string;
  readonly target: string;
  readonly thisRun: string;
  readonly met: 'met' | 'missed' | 'not measured' | 'no target';
}

/** A field a row of some study carries beyond BenchResult's (rtt_ms, skipped). */
function extra(row: BenchResult, key: string): unknown {
  return (row as unknown as Readonly<Record<string, unknown>>)[key];
}

function numberField(row: BenchResult, key: string): number | undefined {
  const value = extra(row, key);
  return typeof value === 'number' ? value : undefined;
}

const find =
  (name: string, impl?: string | ((impl: string) => boolean)) =>
  (results: readonly BenchResult[]): BenchResult | undefined =>
    results.find(
      (r) =>
        r.name === name &&
        (impl === undefined || (typeof impl === 'string' ? r.impl === impl : impl(r.impl))),
    );

const ms = (x: number): string => `${x.toFixed(1)} ms`;
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const times = (x: number): string => `${x.toFixed(2)}x`;
const cpu = (x: number): string => `${x.toFixed(2)} ms`;

const at = (value: number | undefined, bound: number, figure: string): Verdict | undefined =>
  value === undefined ? undefined : { figure, met: value <= bound };

/** `name`'s `field` (ms) at most `bound` ms. */
function latency(
  name: string,
  field: 'p50_ms' | 'p99_ms',
  bound: number,
  impl = 'qkms',
): TargetSpec {
  const label = field === 'p50_ms' ? 'p50' : 'p99';
  return {
    figure: `\`${name}\` ${label}`,
    target: `${label} ≤ ${bound} ms`,
    row: find(name, impl),
    judge: (row) => {
      const value = row[field];
      return value === undefined ? undefined : at(value, bound, ms(value));
    },
  };
}

/** A degraded scenario's p99 at most twice the healthy p99 of the same run. */
function degraded(name: string): TargetSpec {
  return {
    figure: `\`${name}\` p99`,
    target: 'p99 ≤ 2x healthy p99',
    row: find(name, 'qkms'),
    judge: (row) => {
      const ratio = row.p99_vs_healthy;
      if (ratio === undefined || row.p99_ms === undefined) return undefined;
      return at(ratio, 2, `${ms(row.p99_ms)} = ${times(ratio)} healthy`);
    },
  };
}

function rss(impl: string, boundMib: number): TargetSpec {
  return {
    figure: `\`node.rss_mb\` ${impl}`,
    target: `≤ ${boundMib} MiB`,
    row: find('node.rss_mb', impl),
    judge: (row) =>
      row.rss_mb === undefined
        ? undefined
        : at(row.rss_mb, boundMib, `${row.rss_mb.toFixed(1)} MiB`),
  };
}

const WAN = 'recover.latency_3of5_wan';

/** The WAN row with the round trip (not its same-path-no-delay companion, not a skip). */
const wanRow = (results: readonly BenchResult[]): BenchResult | undefined =>
  results.find((r) => {
    if (r.name !== WAN || extra(r, 'skipped') !== undefined) return false;
    const rtt = numberField(r, 'rtt_ms');
    return rtt === undefined ? r.impl !== 'same-path-no-delay' : rtt > 0;
  });

const rttOf = (row: BenchResult | undefined): number =>
  (row === undefined ? undefined : numberField(row, 'rtt_ms')) ?? DEFAULT_RTT_MS;

const rttNote = (row: BenchResult | undefined): string =>
  row !== undefined && numberField(row, 'rtt_ms') === undefined
    ? ` (row has no rtt_ms: ${DEFAULT_RTT_MS} ms assumed)`
    : '';

function wan(field: 'p50_ms' | 'p99_ms'): TargetSpec {
  const p50 = field === 'p50_ms';
  const bound = (rtt: number): number => (p50 ? rtt + 5 : 2 * rtt + 10);
  const formula = p50 ? 'RTT + 5 ms' : '2 RTT + 10 ms';
  return {
    figure: `\`${WAN}\` ${p50 ? 'p50' : 'p99'}`,
    target: (row) =>
      row === undefined
        ? `${p50 ? 'p50' : 'p99'} ≤ ${formula}`
        : `${p50 ? 'p50' : 'p99'} ≤ ${formula} = ${bound(rttOf(row))} ms at RTT ${rttOf(row)} ms${rttNote(row)}`,
    row: wanRow,
    judge: (row) => {
      const value = row[field];
      return value === undefined ? undefined : at(value, bound(rttOf(row)), ms(value));
    },
  };
}

/** Issue 18's targets, in the order the table lists them. */
export const TARGETS: readonly TargetSpec[] = [
  latency('recover.latency_3of5', 'p50_ms', 5),
  latency('recover.latency_3of5', 'p99_ms', 15),
  {
    figure: `\`recover.throughput_3of5\` knee (p99 ≤ ${KNEE_P99_MS} ms)`,
    target: '≥ 50 % of `recover.floor` crypto bound',
    row: find('recover.throughput_3of5', (impl) => impl === 'knee' || impl === 'best'),
    judge: (row, results) => {
      const bound = find('recover.floor', 'crypto')(results)?.bound_per_s;
      const ofFloor =
        row.of_floor ??
        (row.per_s === undefined || bound === undefined ? undefined : row.per_s / bound);
      if (row.per_s === undefined || ofFloor === undefined) return undefined;
      const level = `${row.per_s.toFixed(0)} recovers/s at concurrency ${row.concurrency ?? '?'}`;
      const of = `${pct(ofFloor)} of ${bound === undefined ? 'the bound' : `${bound.toFixed(0)}/s`}`;
      // No level kept p99 within the bound: the row is the best level, and there is no knee.
      if (row.impl !== 'knee')
        return { figure: `no knee; best ${level} (p99 ${ms(row.p99_ms ?? 0)})`, met: false };
      return { figure: `${level} = ${of}`, met: ofFloor >= 0.5 };
    },
  },
  {
    figure: '`recover.floor` measured CPU per recover',
    target: '≤ 2x the crypto floor',
    row: find('recover.floor', 'measured'),
    judge: (row, results) => {
      const floorMs = find('recover.floor', 'crypto')(results)?.cpu_ms;
      const ratio =
        row.vs_floor ??
        (row.cpu_ms === undefined || floorMs === undefined ? undefined : row.cpu_ms / floorMs);
      if (row.cpu_ms === undefined || ratio === undefined) return undefined;
      const floor = floorMs === undefined ? '' : ` (floor ${cpu(floorMs)})`;
      return at(ratio, 2, `${cpu(row.cpu_ms)} = ${times(ratio)} the floor${floor}`);
    },
  },
  degraded('recover.latency_3of5_one_down'),
  degraded('recover.latency_3of5_one_slow'),
  degraded('recover.latency_3of5_two_hung'),
  latency('publish.latency_3of5', 'p50_ms', 10),
  rss('idle', 100),
  rss('throughput-peak', 150),
  {
    figure: '`node.cold_start_ms` median (unencrypted keystore)',
    target: '≤ 300 ms',
    row: find('node.cold_start_ms', (impl) => !ENCRYPTED_KEYSTORE.test(impl)),
    judge: (row) =>
      row.p50_ms === undefined
        ? undefined
        : at(row.p50_ms, 300, `${ms(row.p50_ms)} (max ${ms(row.max_ms ?? row.p50_ms)})`),
  },
  {
    figure: '`node.cold_start_ms` median (encrypted keystore)',
    target: 'reported, no target',
    row: find('node.cold_start_ms', (impl) => ENCRYPTED_KEYSTORE.test(impl)),
    judge: (row) =>
      row.p50_ms === undefined
        ? undefined
        : { figure: `${ms(row.p50_ms)} (${row.impl})`, met: undefined },
    optional: true,
  },
  wan('p50_ms'),
  wan('p99_ms'),
];

/** Why the run has no figure: a skipped row says why; otherwise the row is missing. */
function unmeasured(spec: TargetSpec, results: readonly BenchResult[]): Unmeasured {
  const name = /^`([^`]+)`/.exec(spec.figure)?.[1];
  const skip = results.find((r) => r.name === name && typeof extra(r, 'skipped') === 'string');
  return { skipped: skip === undefined ? undefined : String(extra(skip, 'skipped')) };
}

/** Each target judged against `results` (one run), in TARGETS order. */
export function judgeTargets(
  results: readonly BenchResult[],
  specs: readonly TargetSpec[] = TARGETS,
): TargetLine[] {
  const lines: TargetLine[] = [];
  for (const spec of specs) {
    const row = spec.row(results);
    if (row === undefined && spec.optional === true) continue;
    const target = typeof spec.target === 'string' ? spec.target : spec.target(row);
    const verdict = row === undefined ? undefined : spec.judge(row, results);
    if (verdict === undefined) {
      const { skipped } = unmeasured(spec, results);
      lines.push({
        figure: spec.figure,
        target,
        thisRun: skipped === undefined ? 'not measured' : `not measured (skipped: ${skipped})`,
        met: 'not measured',
      });
      continue;
    }
    lines.push({
      figure: spec.figure,
      target,
      thisRun: verdict.figure,
      met: verdict.met === undefined ? 'no target' : verdict.met ? 'met' : 'missed',
    });
  }
  return lines;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown table: figure | target | this run | met?, missed in bold. */
export function targetTable(results: readonly BenchResult[]): string {
  const rows = judgeTargets(results).map((line) => [
    cell(line.figure),
    cell(line.target),
    cell(line.thisRun),
    line.met === 'missed' ? '**missed**' : line.met === 'no target' ? '—' : line.met,
  ]);
  const header = ['figure', 'target', 'this run', 'met?'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const format = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format), ''].join(
    '\n',
  );
}

function main(argv: readonly string[]): number {
  const [input] = argv;
  if (input === undefined || argv.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const parsed = JSON.parse(readFileSync(input, 'utf8')) as { results?: BenchResult[] };
  if (!Array.isArray(parsed.results)) {
    process.stderr.write(`targets: ${input}: expected { runtime, results } (bench --json)\n`);
    return 1;
  }
  process.stdout.write(targetTable(parsed.results));
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
