// Perfect secrecy of t-1 shares: they rule out no secret, each candidate secret corresponds to
// exactly one choice of the random coefficients (so all are equally likely), and the shares'
// distribution does not depend on the secret.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { div, mul } from './gf256.ts';
import { split, type Share } from './index.ts';
import { at, range } from '../test/support/shamir-helpers.ts';

interface Point {
  readonly x: number;
  readonly y: number;
}

/** Coefficients c_0..c_{k-1} of the polynomial of degree < k through k points (Lagrange). */
function coefficientsThrough(points: readonly Point[]): number[] {
  const coefficients = points.map(() => 0);
  points.forEach((pi, i) => {
    let basis = [1]; // prod_{j != i} (X - x_j), lowest degree first
    let denominator = 1;
    points.forEach((pj, j) => {
      if (j === i) return;
      const next = [...basis.map((c) => mul(c, pj.x)), 0];
      basis.forEach((c, d) => (next[d + 1] = (next[d + 1] ?? 0) ^ c));
      basis = next;
      denominator = mul(denominator, pi.x ^ pj.x);
    });
    const scale = div(pi.y, denominator);
    basis.forEach((c, d) => (coefficients[d] = (coefficients[d] ?? 0) ^ mul(c, scale)));
  });
  return coefficients;
}

function evaluate(coefficients: readonly number[], x: number): number {
  return coefficients.reduceRight((acc, c) => mul(acc, x) ^ c, 0);
}

const firstBytes = (shares: readonly Share[]): Point[] =>
  shares.map((s) => ({ x: s.x, y: s.y[0] ?? 0 }));

describe('perfect secrecy', () => {
  it('t-1 shares fit every one of the 256 secrets, each through a different coefficient choice', () => {
    const scheme = fc.integer({ min: 2, max: 12 }).chain((n) =>
      fc.integer({ min: 2, max: n }).chain((t) =>
        fc.record({
          n: fc.constant(n),
          t: fc.constant(t),
          picks: fc.shuffledSubarray(range(n), { minLength: t - 1, maxLength: t - 1 }),
          secret: fc.integer({ min: 0, max: 255 }),
        }),
      ),
    );
    fc.assert(
      fc.property(scheme, ({ n, t, picks, secret }) => {
        const shares = split(Uint8Array.of(secret), { threshold: t, shares: n });
        const known = firstBytes(picks.map((i) => at(shares, i)));
        const tails = new Set<string>();
        for (const s of range(256)) {
          const coefficients = coefficientsThrough([{ x: 0, y: s }, ...known]);
          expect(coefficients.length).toBe(t); // degree <= t - 1, as split uses
          expect(coefficients[0]).toBe(s);
          for (const p of known) expect(evaluate(coefficients, p.x)).toBe(p.y);
          tails.add(coefficients.slice(1).join(','));
        }
        // 256 distinct random-coefficient vectors: each candidate secret is exactly as likely.
        expect(tails.size).toBe(256);
      }),
      { numRuns: 200 },
    );
  });

  it('t = 2, exhaustively: any one share leaves every secret exactly one coefficient explaining it', () => {
    const byte = fc.integer({ min: 0, max: 255 });
    const x = fc.integer({ min: 1, max: 255 });
    fc.assert(
      fc.property(byte, x, (secret, shareX) => {
        const shares = split(Uint8Array.of(secret), { threshold: 2, shares: 255 });
        const share = at(firstBytes(shares), shareX - 1);
        expect(share.x).toBe(shareX);
        for (const s of range(256)) {
          const explaining = range(256).filter((c1) => evaluate([s, c1], share.x) === share.y);
          expect(explaining.length).toBe(1);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('t = 2: over all 256 coefficients, each share is every byte exactly once, whatever the secret', () => {
    const expected = range(256).join(',');
    for (const secret of range(256)) {
      const byX = new Map<number, number[]>();
      for (const c1 of range(256)) {
        const shares = split(Uint8Array.of(secret), {
          threshold: 2,
          shares: 3,
          random: () => Uint8Array.of(c1),
        });
        for (const s of shares) byX.set(s.x, [...(byX.get(s.x) ?? []), s.y[0] ?? -1]);
      }
      for (const x of [1, 2, 3]) {
        expect([...(byX.get(x) ?? [])].sort((a, b) => a - b).join(',')).toBe(expected);
      }
    }
  });

  it('t = 3: over all 65536 coefficient pairs, each pair of shares takes every value pair once, for two secrets', () => {
    const histograms = [0x00, 0xc3].map((secret) => {
      const seen = new Uint32Array(3 * 65536);
      for (const c of range(65536)) {
        const [s1, s2, s3] = split(Uint8Array.of(secret), {
          threshold: 3,
          shares: 3,
          random: () => Uint8Array.of(c & 0xff, c >>> 8),
        }).map((s) => s.y[0] ?? 0);
        const pairs = [
          [s1, s2],
          [s1, s3],
          [s2, s3],
        ] as const;
        pairs.forEach(([a, b], k) => {
          const slot = k * 65536 + ((a ?? 0) << 8) + (b ?? 0);
          seen[slot] = (seen[slot] ?? 0) + 1;
        });
      }
      return seen;
    });
    for (const seen of histograms) expect(seen.every((count) => count === 1)).toBe(true);
  });
});
