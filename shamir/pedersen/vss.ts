// Pedersen verifiable secret sharing (Pedersen 1991, "Non-interactive and information-theoretic
// secure verifiable secret sharing") over ristretto255. For a secret s and a blinding r, random
// polynomials f and g of degree t − 1 with f(0) = s, g(0) = r; node x gets (x, f(x), g(x)); the
// dealer publishes C_k = a_k·G + b_k·H for the coefficients a_k of f and b_k of g. A share verifies
// iff f(x)·G + g(x)·H = commitmentAt(C, x) = Σ C_k·x^k. C_0 = s·G + r·H is perfectly hiding;
// binding rests on nobody knowing log_G(H).
//
// Secret scalars are multiplied in constant time (noble's multiply); public ones (x, Lagrange
// coefficients) with the faster variable-time multiply. Arithmetic runs on bigints, which
// JavaScript cannot wipe; the random byte buffers behind them are wiped (group.ts).

import { assertOptionsBag, describe, ownProperty } from '../assert.ts';
import { assertX } from '../share.ts';
import { ShamirError } from '../errors.ts';
import {
  commit,
  decodePoint,
  decodeScalar,
  encodeScalar,
  randomScalarValue,
  type Point,
  type RandomSource,
} from './group.ts';
import {
  commitPolynomials,
  commitmentAtPoint,
  evaluate,
  interpolateAtZero,
  randomPolynomial,
} from './polynomial.ts';
import {
  assertDistinct,
  assertList,
  assertThreshold,
  assertXs,
  decodeCommitments,
  decodeShare,
  MAX_PEDERSEN_NODES,
  type PedersenShare,
  type ShareValue,
} from './share.ts';

export interface DealOptions {
  /** The blinding r = g(0), a 32-byte scalar. Default: uniform random. Inject only in tests. */
  readonly blinding?: Uint8Array;
  /** Random bytes for the blinding and the coefficients; tests and vectors inject a fixed source. */
  readonly random?: RandomSource;
}

const DEAL_OPTION_KEYS = ['blinding', 'random'] as const;

export interface PedersenSharing {
  /** One share per x, in the order of xs. */
  readonly shares: PedersenShare[];
  /** C_0..C_{t-1}, 32-byte points; public. */
  readonly commitments: Uint8Array[];
}

/** Shares (s, r) to xs with threshold t and commits to both polynomials. Inputs validated. */
export function sharePolynomials(
  s: bigint,
  r: bigint,
  threshold: number,
  xs: readonly number[],
  random?: RandomSource,
): { shares: PedersenShare[]; commitments: Point[] } {
  const f = randomPolynomial(s, threshold - 1, random);
  const g = randomPolynomial(r, threshold - 1, random);
  return {
    shares: xs.map((x) => ({
      x,
      s: encodeScalar(evaluate(f, x)),
      r: encodeScalar(evaluate(g, x)),
    })),
    commitments: commitPolynomials(f, g),
  };
}

/** The threshold, checked against the number of nodes it is dealt to. */
export function assertThresholdFor(value: unknown, name: string, nodes: number): number {
  const threshold = assertThreshold(value, name);
  if (threshold > nodes) {
    throw new ShamirError(
      'INVALID_THRESHOLD',
      `${name}: expected at most the ${nodes} nodes dealt to, got ${threshold}`,
    );
  }
  return threshold;
}

/**
 * Deals the 32-byte scalar `secret` to the distinct nodes `xs` (1..255), any `threshold` of
 * which reconstruct it. Returns the shares (each with its blinding share r) and the commitments.
 */
export function dealPedersen(
  secret: Uint8Array,
  threshold: number,
  xs: readonly number[],
  options: DealOptions = {},
): PedersenSharing {
  const s = decodeScalar(secret, 'dealPedersen: secret');
  const nodes = assertXs(xs, 'dealPedersen: xs', 1);
  const t = assertThresholdFor(threshold, 'dealPedersen: threshold', nodes.length);
  const bag = assertOptionsBag(options, 'dealPedersen: options', DEAL_OPTION_KEYS);
  const blinding = ownProperty(bag, 'blinding');
  const random = ownProperty(bag, 'random');
  if (random !== undefined && typeof random !== 'function')
    throw new ShamirError('INVALID_OPTIONS', 'dealPedersen: options.random: expected a function');
  const source = random as RandomSource | undefined;
  const r =
    blinding === undefined
      ? randomScalarValue(source)
      : decodeScalar(blinding, 'dealPedersen: options.blinding');
  const { shares, commitments } = sharePolynomials(s, r, t, nodes, source);
  return { shares, commitments: commitments.map((c) => c.toBytes()) };
}

/** f(x)·G + g(x)·H == P. */
export function verifiesAt(point: Point, share: ShareValue): boolean {
  return commit(share.s, share.r).equals(point);
}

/** commitmentAt(C, x) = Σ C_k·x^k, 32 bytes: a node caches it to verify its shares faster. */
export function commitmentAt(commitments: readonly Uint8Array[], x: number): Uint8Array {
  const points = decodeCommitments(commitments, 'commitmentAt: commitments');
  return commitmentAtPoint(points, assertX(x, 'commitmentAt: x')).toBytes();
}

/** Whether `share` lies on the committed polynomials: f(x)·G + g(x)·H == Σ C_k·x^k. */
export function verifyShare(commitments: readonly Uint8Array[], share: PedersenShare): boolean {
  const points = decodeCommitments(commitments, 'verifyShare: commitments');
  const value = decodeShare(share, 'verifyShare: share');
  return verifiesAt(commitmentAtPoint(points, value.x), value);
}

/** verifyShare against a cached commitmentAt(C, share.x); the caller matches point and x. */
export function verifyShareAt(point: Uint8Array, share: PedersenShare): boolean {
  const p = decodePoint(point, 'verifyShareAt: point', true);
  return verifiesAt(p, decodeShare(share, 'verifyShareAt: share'));
}

/**
 * Reconstructs (s, r) = (f(0), g(0)) from the first `threshold` of `shares` and returns them only
 * if `verify` accepts s (in qkms: s unwraps the committed CEK); otherwise ShamirError
 * NO_VERIFIED_SUBSET, with both wiped. Refuses fewer shares and duplicate xs (over all given).
 * Callers that must name a wrong share check each one against the commitments (verifyShareAt).
 */
export function combinePedersen(
  shares: readonly PedersenShare[],
  threshold: number,
  verify: (s: Uint8Array) => boolean,
): { s: Uint8Array; r: Uint8Array } {
  const t = assertThreshold(threshold, 'combinePedersen: threshold');
  const list = assertList(shares, 'combinePedersen: shares', MAX_PEDERSEN_NODES);
  if (list.length < t) {
    throw new ShamirError(
      'NOT_ENOUGH_SHARES',
      `combinePedersen: shares: expected at least ${t}, got ${describe(list)}`,
    );
  }
  const values = list.map((share, i) => decodeShare(share, `combinePedersen: shares[${i}]`));
  assertDistinct(
    values.map((v) => v.x),
    'combinePedersen: shares',
  );
  const used = values.slice(0, t);
  const s = interpolateAtZero(used.map((v) => ({ x: v.x, y: v.s })));
  const r = interpolateAtZero(used.map((v) => ({ x: v.x, y: v.r })));
  const result = { s: encodeScalar(s), r: encodeScalar(r) };
  if (verify(result.s)) return result;
  result.s.fill(0);
  result.r.fill(0);
  throw new ShamirError(
    'NO_VERIFIED_SUBSET',
    'combinePedersen: the reconstruction does not pass verify',
  );
}
