// Polynomials over the scalar field of ristretto255 and their Pedersen commitments: random
// polynomials with a fixed constant term, Horner evaluation at a node's x, Lagrange coefficients
// at 0, and commitmentAt(C, x) = Σ C_k·x^k in the group.
//
// Coefficients are bigints: JavaScript cannot wipe a bigint, so secret coefficients linger in the
// heap until collected. Internal: callers validate thresholds and xs first.

import {
  Fn,
  G,
  IDENTITY,
  mulSecret,
  randomScalarValue,
  generatorH,
  type Point,
  type RandomSource,
} from './group.ts';

/** [constant, a_1, ..., a_degree] with the a_k uniform mod ℓ. */
export function randomPolynomial(
  constant: bigint,
  degree: number,
  random?: RandomSource,
): bigint[] {
  const coefficients = [constant];
  for (let k = 1; k <= degree; k++) coefficients.push(randomScalarValue(random));
  return coefficients;
}

/** f(x) mod ℓ, by Horner. */
export function evaluate(coefficients: readonly bigint[], x: number): bigint {
  const at = BigInt(x);
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) {
    acc = Fn.add(Fn.mul(acc, at), coefficients[k] ?? 0n);
  }
  return acc;
}

/** C_k = a_k·G + b_k·H for the coefficients of f (a) and g (b), of equal length. */
export function commitPolynomials(f: readonly bigint[], g: readonly bigint[]): Point[] {
  const h = generatorH();
  return f.map((a, k) => mulSecret(G, a).add(mulSecret(h, g[k] ?? 0n)));
}

/** Σ C_k·x^k by Horner; x and the C_k are public, so the variable-time multiply is fine. */
export function commitmentAtPoint(commitments: readonly Point[], x: number): Point {
  const at = BigInt(x);
  let acc = IDENTITY;
  for (let k = commitments.length - 1; k >= 0; k--) {
    acc = acc.multiplyUnsafe(at).add(commitments[k] ?? IDENTITY);
  }
  return acc;
}

/** λ_i = Π_{j≠i} x_j / (x_j − x_i) mod ℓ: Σ λ_i f(x_i) = f(0). xs distinct and nonzero. */
export function lagrangeAtZero(xs: readonly number[]): bigint[] {
  return xs.map((xi, i) => {
    let numerator = 1n;
    let denominator = 1n;
    xs.forEach((xj, j) => {
      if (j === i) return;
      numerator = Fn.mul(numerator, BigInt(xj));
      denominator = Fn.mul(denominator, Fn.sub(BigInt(xj), BigInt(xi)));
    });
    return Fn.div(numerator, denominator);
  });
}

/** Σ λ_i y_i mod ℓ over (x_i, y_i) with distinct nonzero x_i: the interpolant's value at 0. */
export function interpolateAtZero(points: readonly { x: number; y: bigint }[]): bigint {
  const weights = lagrangeAtZero(points.map((p) => p.x));
  return points.reduce((acc, p, i) => Fn.add(acc, Fn.mul(weights[i] ?? 0n, p.y)), 0n);
}
