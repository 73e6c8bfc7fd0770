// Draws recover throughput against client concurrency from one bench run as one hand-written
// SVG (no plotting dependency): recovers/s (left axis) and p99 latency (right axis) at each
// concurrency level of recover.throughput_3of5 (log2 axis: 1, 2, 4 … 32), with the knee's p99
// bound, the knee itself, and the issue's throughput target, 50 % of recover.floor's crypto bound.
//
//   npm run -s bench -- --json > out.json
//   npx node test/perf/plot-throughput.ts out.json docs/benchmarks-throughput.svg
//   (npx node: the project's pinned Node, which strips the types; a system Node may not)
//
// It reads the rows' concurrency, per_s and p99_ms, the knee row's (impl 'knee'; 'best' when no
// level kept p99 within the bound) and recover.floor crypto's bound_per_s (no target line
// without it), and prints nothing but errors.
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResult } from './harness.ts';
import type { Runtime } from './report.ts';
import { escapeXml, svgOpening } from './svg.ts';

const NAME = 'recover.throughput_3of5';
/** The knee's p99 bound (recover.bench.ts KNEE_P99_MS, the issue's). */
const KNEE_P99_MS = 100;
/** The issue's throughput target, as a share of the crypto floor's bound. */
const FLOOR_SHARE = 0.5;

const COLOR = { rate: '#1f77b4', p99: '#d62728', bound: '#777777', floor: '#2ca02c' } as const;

const WIDTH = 760;
const HEIGHT = 456;
const MARGIN = { left: 72, right: 72, top: 56, bottom: 84 } as const;
/** Room left and right of the first and last level on the log2 axis, in doublings. */
const X_PAD = 0.35;
/** Nice tick steps (times a power of ten) for the two linear y axes. */
const STEPS: readonly number[] = [1, 2, 2.5, 3, 4, 5, 6, 8];
/** Intervals both y axes share, so one grid serves both. */
const INTERVALS: readonly number[] = [4, 5, 6];
/** Rough width of a 12 px sans-serif character, for keeping labels apart. */
const CHAR_PX = 6.6;
const LINE_PX = 15;

const USAGE = 'usage: npx node test/perf/plot-throughput.ts BENCH.json OUT.svg';

interface Level {
  readonly concurrency: number;
  readonly perS: number;
  readonly p99: number;
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

type Point = readonly [x: number, y: number];

const fixed = (x: number): string => x.toFixed(1);

/** The smallest STEPS multiple of a power of ten at least `x`. */
function niceStep(x: number): number {
  const decade = 10 ** Math.floor(Math.log10(x));
  const m = STEPS.find((s) => s * decade >= x * (1 - 1e-9)) ?? 10;
  return m * decade;
}

/** Tick steps for two axes from 0 sharing one interval count, wasting the least room. */
function sharedScale(maxL: number, maxR: number): { n: number; stepL: number; stepR: number } {
  let best = { n: 5, stepL: niceStep(maxL / 5), stepR: niceStep(maxR / 5) };
  let bestWaste = Infinity;
  for (const n of INTERVALS) {
    const stepL = niceStep(maxL / n);
    const stepR = niceStep(maxR / n);
    const waste = (stepL * n) / maxL + (stepR * n) / maxR;
    if (waste < bestWaste - 1e-9) {
      best = { n, stepL, stepR };
      bestWaste = waste;
    }
  }
  return best;
}

const overlaps = (a: Box, b: Box): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Whether a polyline passes through `box` (sampled every few pixels). */
function crosses(box: Box, line: readonly Point[]): boolean {
  for (let i = 1; i < line.length; i++) {
    const [x0, y0] = line[i - 1] ?? [0, 0];
    const [x1, y1] = line[i] ?? [0, 0];
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / 3));
    for (let s = 0; s <= steps; s++) {
      const px = x0 + ((x1 - x0) * s) / steps;
      const py = y0 + ((y1 - y0) * s) / steps;
      if (px >= box.x && px <= box.x + box.w && py >= box.y && py <= box.y + box.h) return true;
    }
  }
  return false;
}

/** A text block's box, `x` at its start, `end` or middle per anchor, `y` the first baseline. */
function textBox(lines: readonly string[], x: number, y: number, anchor: string): Box {
  const w = Math.max(...lines.map((l) => l.length)) * CHAR_PX;
  const left = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
  return { x: left - 3, y: y - 12, w: w + 6, h: LINE_PX * (lines.length - 1) + 16 };
}

function levelsOf(results: readonly BenchResult[]): Level[] {
  return results
    .filter((r) => r.name === NAME && r.impl === 'qkms')
    .flatMap((r) =>
      r.concurrency !== undefined &&
      r.concurrency > 0 &&
      r.per_s !== undefined &&
      r.p99_ms !== undefined
        ? [{ concurrency: r.concurrency, perS: r.per_s, p99: r.p99_ms }]
        : [],
    )
    .sort((a, b) => a.concurrency - b.concurrency);
}

export function renderThroughputSvg(results: readonly BenchResult[], runtime?: Runtime): string {
  const levels = levelsOf(results);
  if (levels.length === 0)
    throw new Error(`plot-throughput: no ${NAME} qkms rows with concurrency, per_s, p99_ms`);
  const knee = results.find((r) => r.name === NAME && (r.impl === 'knee' || r.impl === 'best'));
  const bound = results.find((r) => r.name === 'recover.floor' && r.impl === 'crypto')?.bound_per_s;
  const target = bound === undefined ? undefined : bound * FLOOR_SHARE;

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = MARGIN.top;
  const bottom = MARGIN.top + plotH;
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const xLo = Math.log2(levels[0]?.concurrency ?? 1) - X_PAD;
  const xHi = Math.log2(levels.at(-1)?.concurrency ?? 1) + X_PAD;
  // Headroom so a curve or line at the maximum stays off the frame.
  const maxL = 1.04 * Math.max(...levels.map((l) => l.perS), target ?? 0);
  const maxR = 1.04 * Math.max(...levels.map((l) => l.p99), KNEE_P99_MS);
  const { n, stepL, stepR } = sharedScale(maxL, maxR);
  const x = (c: number): number => left + ((Math.log2(c) - xLo) / (xHi - xLo)) * plotW;
  const yL = (v: number): number => bottom - (v / (stepL * n)) * plotH;
  const yR = (v: number): number => bottom - (v / (stepR * n)) * plotH;
  const out: string[] = [];
  const add = (line: string): void => {
    out.push(line);
  };

  out.push(
    ...svgOpening(
      { width: WIDTH, height: HEIGHT },
      left,
      'Recover throughput: 5 nodes (t = 3) on loopback, concurrent warm recovers',
      runtime,
    ),
  );

  // Grid and axes: left ticks in recovers/s, right ticks in ms on the same grid lines.
  for (let i = 0; i <= n; i++) {
    const ty = fixed(yL(i * stepL));
    add(`<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" stroke="#e5e5e5"/>`);
    add(
      `<text x="${left - 8}" y="${ty}" text-anchor="end" dominant-baseline="middle" fill="${COLOR.rate}">${Number((i * stepL).toPrecision(6))}</text>`,
    );
    add(
      `<text x="${right + 8}" y="${ty}" dominant-baseline="middle" fill="${COLOR.p99}">${Number((i * stepR).toPrecision(6))}</text>`,
    );
  }
  for (let c = 2 ** Math.ceil(xLo); c <= 2 ** xHi; c *= 2) {
    const tx = fixed(x(c));
    add(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${bottom}" stroke="#e5e5e5"/>`);
    add(`<text x="${tx}" y="${bottom + 18}" text-anchor="middle">${c}</text>`);
  }
  add(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
  );
  add(
    `<text x="${left + plotW / 2}" y="${bottom + 40}" text-anchor="middle">client concurrency (recovers in flight; log2 scale)</text>`,
  );
  add(
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${COLOR.rate}">recovers/s</text>`,
  );
  add(
    `<text transform="translate(${WIDTH - 14} ${top + plotH / 2}) rotate(90)" text-anchor="middle" fill="${COLOR.p99}">p99 latency (ms)</text>`,
  );

  // What labels must not cover: the curves and the reference lines; then each placed label.
  const rate: Point[] = levels.map((l) => [x(l.concurrency), yL(l.perS)]);
  const p99: Point[] = levels.map((l) => [x(l.concurrency), yR(l.p99)]);
  const lines: Point[][] = [rate, p99];
  const taken: Box[] = [];
  const plotBox: Box = { x: left + 2, y: top + 2, w: plotW - 4, h: plotH - 4 };
  const inside = (b: Box): boolean =>
    b.x >= plotBox.x &&
    b.y >= plotBox.y &&
    b.x + b.w <= plotBox.x + plotBox.w &&
    b.y + b.h <= plotBox.y + plotBox.h;
  /** The first candidate [x, y, anchor] whose box stays in the plot, off other labels and lines. */
  const place = (
    text: readonly string[],
    candidates: readonly (readonly [number, number, 'start' | 'end'])[],
  ): readonly [number, number, 'start' | 'end'] => {
    const fits = candidates.filter((c) => inside(textBox(text, ...c)));
    const free = fits.filter((c) => !taken.some((t) => overlaps(t, textBox(text, ...c))));
    const clear = free.find((c) => !lines.some((l) => crosses(textBox(text, ...c), l)));
    // Else crossing a line beats covering a label, which beats leaving the plot.
    const chosen = clear ?? free[0] ?? fits[0] ?? candidates[0] ?? [left + 6, top + 16, 'start'];
    taken.push(textBox(text, ...chosen));
    return chosen;
  };
  const drawText = (
    text: readonly string[],
    [tx, ty, anchor]: readonly [number, number, 'start' | 'end'],
    color: string,
  ): void => {
    add(
      `<text x="${fixed(tx)}" y="${fixed(ty)}" text-anchor="${anchor}" fill="${color}">${text
        .map(
          (t, i) => `<tspan x="${fixed(tx)}" dy="${i === 0 ? 0 : LINE_PX}">${escapeXml(t)}</tspan>`,
        )
        .join('')}</text>`,
    );
  };

  // Reference lines: the knee's p99 bound (right axis), the throughput target (left axis).
  const refs: { y: number; text: string; color: string; dash: string }[] = [
    {
      y: yR(KNEE_P99_MS),
      text: `knee bound: p99 ${KNEE_P99_MS} ms`,
      color: COLOR.bound,
      dash: '6 4',
    },
  ];
  if (target !== undefined && bound !== undefined)
    refs.push({
      y: yL(target),
      text: `target: ${FLOOR_SHARE * 100} % of the crypto bound (${bound.toFixed(0)}/s) = ${target.toFixed(0)} recovers/s`,
      color: COLOR.floor,
      dash: '2 3',
    });
  for (const ref of refs) {
    add(
      `<line x1="${left}" y1="${fixed(ref.y)}" x2="${right}" y2="${fixed(ref.y)}" stroke="${ref.color}" stroke-width="1.5" stroke-dasharray="${ref.dash}"/>`,
    );
    lines.push([
      [left, ref.y],
      [right, ref.y],
    ]);
  }

  // The curves: recovers/s solid with dots, p99 dashed with hollow dots.
  const path = (points: readonly Point[]): string =>
    points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${fixed(px)} ${fixed(py)}`).join(' ');
  add(
    `<path d="${path(p99)}" fill="none" stroke="${COLOR.p99}" stroke-width="2" stroke-dasharray="7 4"/>`,
  );
  for (const [px, py] of p99)
    add(
      `<circle cx="${fixed(px)}" cy="${fixed(py)}" r="3" fill="#ffffff" stroke="${COLOR.p99}" stroke-width="1.5"/>`,
    );
  add(`<path d="${path(rate)}" fill="none" stroke="${COLOR.rate}" stroke-width="2"/>`);
  for (const [px, py] of rate)
    add(`<circle cx="${fixed(px)}" cy="${fixed(py)}" r="3.5" fill="${COLOR.rate}"/>`);

  // The knee: a ring on its level's recovers/s, and what it is (placed first: it matters most).
  const kneeC = knee?.concurrency;
  const kneeRate = knee?.per_s;
  if (knee !== undefined && kneeC !== undefined && kneeC > 0 && kneeRate !== undefined) {
    const kx = x(kneeC);
    const ky = yL(kneeRate);
    const within = knee.impl === 'knee';
    const ofBound =
      knee.of_floor === undefined
        ? ''
        : `, ${(knee.of_floor * 100).toFixed(1)} % of the crypto bound`;
    const text = [
      within
        ? `knee: ${kneeRate.toFixed(0)} recovers/s at concurrency ${kneeC}`
        : `no knee; best: ${kneeRate.toFixed(0)} recovers/s at concurrency ${kneeC}`,
      `p99 ${(knee.p99_ms ?? 0).toFixed(0)} ms${ofBound}`,
    ];
    const ring: Box = { x: kx - 9, y: ky - 9, w: 18, h: 18 };
    taken.push(ring);
    // First baselines below the ring, and above it (the block's bottom 17 px over the point).
    const above = ky - 21 - LINE_PX * (text.length - 1);
    const at = place(
      text,
      [0, 1, 2, 3, 4].flatMap(
        (k) =>
          [
            [kx + 16, ky + 30 + 30 * k, 'start'],
            [kx + 16, above - 30 * k, 'start'],
            [kx - 16, ky + 30 + 30 * k, 'end'],
            [kx - 16, above - 30 * k, 'end'],
          ] as const,
      ),
    );
    const box = textBox(text, ...at);
    const ly = at[1] < ky ? box.y + box.h : box.y;
    const lx = Math.min(Math.max(kx, box.x + 4), box.x + box.w - 4);
    add(
      `<circle cx="${fixed(kx)}" cy="${fixed(ky)}" r="8" fill="none" stroke="#000000" stroke-width="1.5"/>`,
    );
    add(
      `<line x1="${fixed(kx)}" y1="${fixed(ky + (ly > ky ? 8 : -8))}" x2="${fixed(lx)}" y2="${fixed(ly)}" stroke="#000000"/>`,
    );
    drawText(text, at, '#000000');
  }

  for (const ref of refs) {
    const at = place(
      [ref.text],
      [
        [right - 6, ref.y - 6, 'end'],
        [left + 6, ref.y - 6, 'start'],
        [right - 6, ref.y + 16, 'end'],
        [left + 6, ref.y + 16, 'start'],
        [left + plotW / 2, ref.y - 6, 'start'],
        [left + plotW / 2, ref.y + 16, 'start'],
      ],
    );
    drawText([ref.text], at, ref.color === COLOR.bound ? '#555555' : ref.color);
  }

  // Legend, under the x axis: what each curve is and which axis it reads on.
  const legend = [
    { label: 'recovers/s (left axis)', color: COLOR.rate, dash: '', dot: true },
    { label: 'p99 latency (right axis)', color: COLOR.p99, dash: '7 4', dot: false },
  ];
  let lx = left;
  const ly = bottom + 66;
  for (const entry of legend) {
    add(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${entry.color}" stroke-width="2"${entry.dash === '' ? '' : ` stroke-dasharray="${entry.dash}"`}/>`,
    );
    add(
      entry.dot
        ? `<circle cx="${lx + 14}" cy="${ly}" r="3.5" fill="${entry.color}"/>`
        : `<circle cx="${lx + 14}" cy="${ly}" r="3" fill="#ffffff" stroke="${entry.color}" stroke-width="1.5"/>`,
    );
    add(
      `<text x="${lx + 36}" y="${ly}" dominant-baseline="middle">${escapeXml(entry.label)}</text>`,
    );
    lx += 36 + entry.label.length * CHAR_PX + 28;
  }
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
    process.stderr.write(
      `plot-throughput: ${input}: expected { runtime, results } (bench --json)\n`,
    );
    return 1;
  }
  writeFileSync(output, renderThroughputSvg(parsed.results, parsed.runtime));
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
