// `npm run bench`: runs every scenario (or those whose name contains --filter) one after another
// in this process and prints a table, or with --json one JSON object, on stdout. Progress goes
// to stderr. Figures are for reading and comparing, never asserted (test/perf/README.md).
import { parseArgs } from 'node:util';
import {
  DEFAULT_MEASURE,
  isStudy,
  measure,
  sinkValue,
  type BenchResult,
  type Scenario,
} from './harness.ts';
import { formatHeader, formatTable, runtimeInfo } from './report.ts';
import { browserBenches } from './browser.bench.ts';
import { handoverLatencyBenches } from './handover-latency.bench.ts';
import { hashBenches } from './hash.bench.ts';
import { policyBenches } from './policy.bench.ts';
import { recoverBenches } from './recover.bench.ts';
import { revocationBenches } from './revocation.bench.ts';
import { shamirBenches } from './shamir.bench.ts';
import { pedersenBenches } from './pedersen.bench.ts';
import { reshareBenches } from './reshare.bench.ts';
import { signatureBenches } from './signature.bench.ts';
import { wanBenches } from './wan.bench.ts';
import { xwingBenches } from './xwing.bench.ts';

/** Every scenario, in output order. A new scenario file adds its list here. */
const SCENARIOS: readonly Scenario[] = [
  ...xwingBenches,
  ...signatureBenches,
  ...shamirBenches,
  ...pedersenBenches,
  ...reshareBenches,
  ...handoverLatencyBenches,
  ...hashBenches,
  ...revocationBenches,
  ...recoverBenches,
  ...wanBenches,
  ...policyBenches,
  ...browserBenches,
];

const USAGE = `usage: npm run bench -- [--json] [--filter SUBSTRING]
  --json              print one JSON object { runtime, results } instead of a table
  --filter SUBSTRING  run only the scenarios whose name contains SUBSTRING
  -h, --help          print this and exit`;

/** Exit code of a command-line mistake (as a shell builtin's misuse). */
const EXIT_USAGE = 2;

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean', default: false },
        filter: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    progress(`bench: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const filter = args.filter;
  const wants = (name: string): boolean => filter === undefined || name.includes(filter);
  const selected = SCENARIOS.filter((s) => (isStudy(s) ? s.names.some(wants) : wants(s.name)));
  if (selected.length === 0) {
    progress(`bench: no scenario name contains ${JSON.stringify(filter)}\n${USAGE}`);
    return EXIT_USAGE;
  }

  const runtime = runtimeInfo();
  const started = performance.now();
  const results: BenchResult[] = [];
  for (const [i, bench] of selected.entries()) {
    if (isStudy(bench)) {
      const names = bench.names.filter(wants);
      progress(`[${i + 1}/${selected.length}] ${names.join(', ')}`);
      const studyStarted = performance.now();
      results.push(
        ...(await bench.run({ wants, progress: (line) => progress(`  ${line}`), results })),
      );
      progress(`  done in ${((performance.now() - studyStarted) / 1000).toFixed(1)} s`);
      continue;
    }
    const { result, detail } = await measure(bench, DEFAULT_MEASURE);
    results.push(result);
    progress(
      `[${i + 1}/${selected.length}] ${bench.name} ${bench.impl}: ${result.median_us ?? '?'} µs` +
        ` (${detail.samples} samples x ${detail.batch} ops, IQR ${(detail.iqrRel * 100).toFixed(1)}%)`,
    );
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s (sink ${sinkValue()})`);

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ runtime, results }, null, 2)}\n`);
  } else {
    const { warmupMs, sampleMs, samples, minSamples } = DEFAULT_MEASURE;
    const method =
      `median per-op time over ${minSamples}-${samples} samples, each a batch of ~${sampleMs} ms` +
      ` after ${warmupMs} ms of warm-up; ops/s = 1e6 / median µs` +
      (results.some(
        (r) =>
          r.name.startsWith('revocation.') && (r.samples !== undefined || r.bytes !== undefined),
      )
        ? '\nrevocation.*: latencies over n samples (p50/p99/max ms), memory held; test/perf/README.md'
        : '') +
      (results.some((r) => r.concurrency !== undefined || r.cpu_ms !== undefined)
        ? '\nrecover.*, publish.*, node.*: a real 5-node quorum (t = 3); cpu ms per recover; test/perf/README.md'
        : '');
    process.stdout.write(`${formatHeader(runtime, method)}\n\n${formatTable(results)}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
