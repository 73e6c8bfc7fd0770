// Lagrange interpolation over GF(2^8), byte-wise: the value at a point of the polynomial of
// degree < k through k shares, for each byte position of their y.
//
// The basis weights depend only on the public x-coordinates and are computed once per call;
// the per-byte work is t branch-free multiplications and XORs of secret bytes.
// Internal: callers validate first (distinct x, equal non-zero y lengths). Points may include
// x = 0, which the secrecy tests use to pin the secret.

import { div, mul } from './gf256.ts';
import type { Share } from './share.ts';

/** w_i = prod_{j != i} (at - x_j) / (x_i - x_j), for distinct xs; public data only. */
export function lagrangeWeights(xs: readonly number[], at: number): number[] {
  return xs.map((xi, i) => {
    let numerator = 1;
    let denominator = 1;
    xs.forEach((xj, j) => {
      if (j === i) return;
      numerator = mul(numerator, at ^ xj);
      denominator = mul(denominator, xi ^ xj);
    });
    return div(numerator, denominator);
  });
}

/** The interpolating polynomials' values at `at`: sum_i w_i · y_i, byte by byte. */
export function interpolateAt(points: readonly Share[], at: number): Uint8Array {
  const weights = lagrangeWeights(
    points.map((p) => p.x),
    at,
  );
  const length = points[0]?.y.length ?? 0;
  const out = new Uint8Array(length);
  points.forEach(({ y }, i) => {
    const w = weights[i] ?? 0;
    for (let b = 0; b < length; b++) out[b] = (out[b] ?? 0) ^ mul(w, y[b] ?? 0);
  });
  return out;
}
