// Shamir secret sharing, combine, robust to wrong shares: Lagrange interpolation at x = 0 of
// t-subsets of the supplied shares, until the caller's verify callback (its check against the
// published commitment) accepts one reconstruction. Shamir over GF(2^8) has no share
// verification of its own, so the callback is what makes a result trustworthy: combine never
// returns a secret it did not accept, and wipes every candidate it rejected.

import { assertIntegerInRange, assertOptionsBag, describe, ownProperty } from './assert.ts';
import { ShamirError } from './errors.ts';
import { interpolateAt } from './lagrange.ts';
import { assertShare, MAX_SHARES, type Share } from './share.ts';

export interface CombineOptions {
  /** t, the threshold the secret was split with: an integer in 2..255. Never inferred. */
  readonly threshold: number;
  /**
   * True iff the candidate secret is the real one (e.g. matches the CEK commitment). Only a
   * synchronous `true` accepts: a truthy value or a promise (an async callback) rejects. The
   * candidate is wiped if rejected, so the callback must not keep it.
   */
  readonly verify: (secret: Uint8Array) => boolean;
  /** Most t-subsets to try before TOO_MANY_CANDIDATES; default DEFAULT_MAX_CANDIDATES. */
  readonly maxCandidates?: number;
}

export interface CombineResult {
  /** The reconstructed secret, accepted by verify. The caller owns it and should wipe it. */
  readonly secret: Uint8Array;
  /** x of the t shares the secret was reconstructed from, in the order supplied. */
  readonly used: readonly number[];
  /** x of supplied shares not on the polynomial of `used`, in the order supplied. */
  readonly disagreeing: readonly number[];
}

/**
 * Default bound on the subsets tried (each costs one interpolation and one verify call).
 * The search cannot be unbounded: C(255, t) explodes (C(255, 127) is about 10^75), so a few
 * wrong shares among many would be a denial of service. Callers normally pre-filter shares
 * against the per-share commitments first, leaving this search to route around whatever those
 * could not catch. 10_000 covers every subset of up to 15 shares, whatever the threshold
 * (C(15, 7) = 6435).
 */
export const DEFAULT_MAX_CANDIDATES = 10_000;

const COMBINE_OPTION_KEYS = ['threshold', 'verify', 'maxCandidates'] as const;

/**
 * Reconstructs the secret from `shares`, trying t-subsets in lexicographic order of their
 * positions (the first t shares first, so put the likeliest-good shares first) until `verify`
 * accepts one.
 *
 * `disagreeing` is exact unless two or more wrong shares inside the accepted subset cancel each
 * other at x = 0 (a sender of several shares can arrange that): the secret is then still the
 * verified one, but the polynomial is not, and honest shares may be listed. Attribute blame
 * with per-share commitments, not with `disagreeing` alone.
 */
export function combine(shares: readonly Share[], options: CombineOptions): CombineResult {
  const bag = assertOptionsBag(options, 'combine: options', COMBINE_OPTION_KEYS);
  const threshold = assertIntegerInRange(
    ownProperty(bag, 'threshold'),
    'combine: options.threshold',
    2,
    MAX_SHARES,
    'INVALID_THRESHOLD',
  );
  const verify = ownProperty(bag, 'verify');
  if (typeof verify !== 'function') {
    throw new ShamirError(
      'INVALID_OPTIONS',
      `combine: options.verify: expected a function, got ${describe(verify)}`,
    );
  }
  const givenMax = ownProperty(bag, 'maxCandidates');
  const maxCandidates = assertIntegerInRange(
    givenMax === undefined ? DEFAULT_MAX_CANDIDATES : givenMax,
    'combine: options.maxCandidates',
    1,
    Number.MAX_SAFE_INTEGER,
    'INVALID_OPTIONS',
  );
  const points = assertShares(shares, threshold);
  return search(points, threshold, verify as (secret: Uint8Array) => unknown, maxCandidates);
}

/** Validated snapshots of the shares: 1..255 of them, at least t, distinct x, equal y length. */
function assertShares(shares: unknown, threshold: number): Share[] {
  if (!Array.isArray(shares)) {
    throw new ShamirError(
      'INVALID_SHARE',
      `combine: shares: expected an array, got ${describe(shares)}`,
    );
  }
  const list: readonly unknown[] = shares;
  if (list.length > MAX_SHARES) {
    throw new ShamirError(
      'INVALID_SHARE_COUNT',
      `combine: shares: expected at most ${MAX_SHARES} shares, got ${list.length}`,
    );
  }
  if (list.length < threshold) {
    throw new ShamirError(
      'NOT_ENOUGH_SHARES',
      `combine: shares: expected at least threshold = ${threshold} shares, got ${list.length}`,
    );
  }
  const seen = new Set<number>();
  const points = list.map((value, i) => assertShare(value, `combine: shares[${i}]`));
  const length = points[0]?.y.length;
  points.forEach(({ x, y }, i) => {
    if (seen.has(x)) {
      throw new ShamirError('DUPLICATE_X', `combine: shares[${i}].x: x = ${x} appears twice`);
    }
    seen.add(x);
    if (y.length !== length) {
      throw new ShamirError(
        'LENGTH_MISMATCH',
        `combine: shares[${i}].y: expected ${length ?? 0} bytes like shares[0].y, got ${y.length}`,
      );
    }
  });
  return points;
}

function search(
  points: readonly Share[],
  threshold: number,
  verify: (secret: Uint8Array) => unknown,
  maxCandidates: number,
): CombineResult {
  const subset = Array.from({ length: threshold }, (_, i) => i);
  let tried = 0;
  do {
    if (tried === maxCandidates) {
      throw new ShamirError(
        'TOO_MANY_CANDIDATES',
        `combine: no subset verified within maxCandidates = ${maxCandidates} of the subsets of ${threshold} among ${points.length} shares`,
      );
    }
    tried++;
    const chosen = subset.map((i) => points[i]).filter((p) => p !== undefined);
    const candidate = interpolateAt(chosen, 0);
    let accepted = false;
    try {
      accepted = verify(candidate) === true;
    } finally {
      if (!accepted) candidate.fill(0);
    }
    if (accepted) {
      return Object.freeze({
        secret: candidate,
        used: Object.freeze(chosen.map((p) => p.x)),
        disagreeing: Object.freeze(offPolynomial(points, chosen)),
      });
    }
  } while (nextSubset(subset, points.length));
  throw new ShamirError(
    'NO_VERIFIED_SUBSET',
    `combine: none of the ${tried} subsets of ${threshold} among ${points.length} shares verified`,
  );
}

/** x of the points outside `chosen` whose y differs from the polynomial through `chosen`. */
function offPolynomial(points: readonly Share[], chosen: readonly Share[]): number[] {
  const off: number[] = [];
  for (const point of points) {
    if (chosen.includes(point)) continue;
    const expected = interpolateAt(chosen, point.x);
    // Constant-time over the bytes: only the verdict (which becomes public) is branched on.
    let diff = 0;
    expected.forEach((byte, b) => {
      diff |= byte ^ (point.y[b] ?? 0);
    });
    expected.fill(0);
    if (diff !== 0) off.push(point.x);
  }
  return off;
}

/** Advances `subset` (ascending indices into 0..n-1) to the next one in lexicographic order. */
function nextSubset(subset: number[], n: number): boolean {
  const k = subset.length;
  for (let i = k - 1; i >= 0; i--) {
    const value = subset[i] ?? 0;
    if (value < n - k + i) {
      for (let j = i; j < k; j++) subset[j] = value + 1 + j - i;
      return true;
    }
  }
  return false;
}
