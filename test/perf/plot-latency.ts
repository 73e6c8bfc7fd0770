// Draws the recover latency distribution of one bench run — healthy, one node down, one node
// slow — as one hand-written SVG (no plotting dependency): latency on a log scale against the
// percentile on HdrHistogram's scale (equal room for 0-90 %, 90-99 %, 99-99.9 %), so the tail
// that hedging is for is as visible as the median.
//
//   npm run -s bench -- --json > out.json
//   npx node test/perf/plot-latency.ts out.json docs/benchmarks-latency.svg
//   (npx node: the project's pinned Node, which strips the types; a system Node may not)
//
// It reads the rows' percentiles_ms (harness.ts PERCENTILES), and prints nothing but errors.
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResult } from './harness.ts';
import type { Runtime } from './report.ts';
import { escapeXml, svgOpening } from './svg.ts';

/** The curves, in legend order: result name, label, colour. */
const SERIES = [
  { name: 'recover.latency_3of5', label: 'healthy', color: '#1f77b4' },
  { name: 'recover.latency_3of5_one_slow', label: 'node 5 slow (+50 ms)', color: '#ff7f0e' },
  { name: 'recover.latency_3of5_one_down', label: 'node 5 down', color: '#d62728' },
] as const;

/** The issue's targets, drawn as dashed lines. */
const TARGETS = [
  { ms: 5, label: 'p50 target 5 ms' },
  { ms: 15, label: 'p99 target 15 ms' },
] as const;

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 72, right: 24, top: 56, bottom: 64 } as const;
/** Percentile axis: log10(1 / (1 - q)) from 0 (q = 0) to 3 (q = 99.9 %). */
const X_MAX = 3;
const X_TICKS: readonly (readonly [q: number, label: string])[] = [
  [0, '0%'],
  [0.5, '50%'],
  [0.9, '90%'],
  [0.99, '99%'],
  [0.999, '99.9%'],
];

const USAGE = 'usage: npx node test/perf/plot-latency.ts BENCH.json OUT.svg';

interface Curve {
  readonly label: string;
  readonly color: string;
  /** [q (0..1), ms] ascending in q. */
  readonly points: readonly (readonly [number, number])[];
  readonly p50: number;
  readonly p99: number;
}

const fixed = (x: number): string => x.toFixed(1);

function msLabel(ms: number): string {
  return ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`;
}

/** 1-2-5 ticks from below `lo` to above `hi`. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let decade = Math.floor(Math.log10(lo)); 10 ** decade <= hi * 10; decade++) {
    for (const m of [1, 2, 5]) {
      const tick = Number((m * 10 ** decade).toPrecision(1));
      if (tick >= lo / 2.5 && tick <= hi * 2.5) ticks.push(tick);
    }
  }
  return ticks;
}

function curvesOf(results: readonly BenchResult[]): Curve[] {
  const curves: Curve[] = [];
  for (const series of SERIES) {
    const row = results.find((r) => r.name === series.name && r.percentiles_ms !== undefined);
    if (row?.percentiles_ms === undefined) continue;
    const points = Object.entries(row.percentiles_ms)
      .map(([key, ms]): [number, number] => [Number(key.replace(/^p/, '')) / 100, ms])
      .filter(([q, ms]) => Number.isFinite(q) && q < 1 && ms > 0)
      .sort((a, b) => a[0] - b[0]);
    curves.push({
      label: series.label,
      color: series.color,
      points,
      p50: row.p50_ms ?? 0,
      p99: row.p99_ms ?? 0,
    });
  }
  return curves;
}

export function renderLatencySvg(results: readonly BenchResult[], runtime?: Runtime): string {
  const curves = curvesOf(results);
  if (curves.length === 0)
    throw new Error('plot-latency: no recover.latency_3of5* rows with percentiles_ms in the input');
  const all = curves.flatMap((c) => c.points.map(([, ms]) => ms));
  const ticksY = logTicks(Math.min(...all, ...TARGETS.map((t) => t.ms)), Math.max(...all));
  const yLo = Math.log10(ticksY[0] ?? 1);
  const yHi = Math.log10(ticksY.at(-1) ?? 10);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (q: number): number => MARGIN.left + (Math.log10(1 / (1 - q)) / X_MAX) * plotW;
  const y = (ms: number): number =>
    MARGIN.top + plotH - ((Math.log10(ms) - yLo) / (yHi - yLo)) * plotH;
  const out: string[] = [];
  const add = (line: string): void => {
    out.push(line);
  };

  out.push(
    ...svgOpening(
      { width: WIDTH, height: HEIGHT },
      MARGIN.left,
      'Recover latency: 5 nodes (t = 3) on loopback, sequential warm recovers',
      runtime,
    ),
  );

  // Grid and axes.
  for (const tick of ticksY) {
    const ty = fixed(y(tick));
    add(
      `<line x1="${MARGIN.left}" y1="${ty}" x2="${WIDTH - MARGIN.right}" y2="${ty}" stroke="#e5e5e5"/>`,
    );
    add(
      `<text x="${MARGIN.left - 8}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeXml(msLabel(tick))}</text>`,
    );
  }
  for (const [q, label] of X_TICKS) {
    const tx = fixed(x(q));
    add(
      `<line x1="${tx}" y1="${MARGIN.top}" x2="${tx}" y2="${MARGIN.top + plotH}" stroke="#e5e5e5"/>`,
    );
    add(
      `<text x="${tx}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${escapeXml(label)}</text>`,
    );
  }
  add(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
  );
  add(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">percentile (recovers at or below the latency; log scale of 1 / (1 − q))</text>`,
  );
  add(
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`,
  );

  for (const target of TARGETS) {
    const ty = fixed(y(target.ms));
    add(
      `<line x1="${MARGIN.left}" y1="${ty}" x2="${WIDTH - MARGIN.right}" y2="${ty}" stroke="#888888" stroke-dasharray="6 4"/>`,
    );
    add(
      `<text x="${WIDTH - MARGIN.right - 6}" y="${fixed(y(target.ms) - 5)}" text-anchor="end" fill="#666666">${escapeXml(target.label)}</text>`,
    );
  }

  // Curves, each with its p50 and p99 marked.
  for (const curve of curves) {
    const path = curve.points
      .map(([q, ms], i) => `${i === 0 ? 'M' : 'L'}${fixed(x(q))} ${fixed(y(ms))}`)
      .join(' ');
    add(`<path d="${path}" fill="none" stroke="${curve.color}" stroke-width="2"/>`);
    for (const [q, ms] of [
      [0.5, curve.p50],
      [0.99, curve.p99],
    ] as const) {
      if (ms > 0)
        add(`<circle cx="${fixed(x(q))}" cy="${fixed(y(ms))}" r="3.5" fill="${curve.color}"/>`);
    }
  }

  // Legend, top left inside the plot.
  const legendX = MARGIN.left + 12;
  curves.forEach((curve, i) => {
    const ly = MARGIN.top + 16 + i * 18;
    add(
      `<line x1="${legendX}" y1="${ly}" x2="${legendX + 24}" y2="${ly}" stroke="${curve.color}" stroke-width="2"/>`,
    );
    add(
      `<text x="${legendX + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(
        `${curve.label}: p50 ${curve.p50.toFixed(1)} ms, p99 ${curve.p99.toFixed(1)} ms`,
      )}</text>`,
    );
  });
  add('</svg>');
  return `${out.join('\n')}\n`;
}

function main(argv: readonly string[]): number {
  const [input, output] = argv;
  if (input === undefined || output === undefined || argv.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const parsed = JSON.parse(readFileSync(input, 'utf8')) as {
    runtime?: Runtime;
    results?: BenchResult[];
  };
  if (!Array.isArray(parsed.results)) {
    process.stderr.write(`plot-latency: ${input}: expected { runtime, results } (bench --json)\n`);
    return 1;
  }
  writeFileSync(output, renderLatencySvg(parsed.results, parsed.runtime));
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
