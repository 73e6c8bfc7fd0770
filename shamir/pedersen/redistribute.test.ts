// Verifiable redistribution through the public entry: join, leave, replace and refresh move a
// sharing to a new node set and threshold with the secret unchanged and every new share verified;
// a cheating dealer is caught and named and routed around; two hops in a row still hold; bad
// dealings and dealer sets are typed refusals.
import { describe, expect, it } from 'vitest';
import type { ShamirErrorCode } from '../errors.ts';
import { at, subsetsOf } from '../../test/support/shamir-helpers.ts';
import {
  combinePedersen,
  combineSubShares,
  dealPedersen,
  randomScalar,
  redeal,
  redistributedCommitments,
  verifyShare,
  verifySubShare,
  type Dealing,
  type PedersenShare,
} from './index.ts';

function expectCode(fn: () => unknown, code: ShamirErrorCode): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'ShamirError', code }));
}

const xsOf = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

interface Sharing {
  readonly shares: PedersenShare[];
  readonly commitments: Uint8Array[];
}

/** Sub-share j of a dealing (the one for newXs[j]). */
const subShare = (d: Dealing, j: number): PedersenShare => at(d.subShares, j);

/**
 * One redistribution as the nodes would run it: every dealing is checked by every recipient,
 * the dealer set B is the first oldThreshold dealers all recipients accepted, and each new node
 * combines its sub-shares from B. Returns the new sharing and the dealers that were rejected.
 */
function redistribute(
  old: Sharing,
  dealings: readonly Dealing[],
  newThreshold: number,
  newXs: readonly number[],
): Sharing & { rejected: number[] } {
  const oldThreshold = old.commitments.length;
  const accepted = dealings.filter((d) =>
    newXs.every((_, j) => verifySubShare(old.commitments, newThreshold, d, subShare(d, j))),
  );
  const rejected = dealings.filter((d) => !accepted.includes(d)).map((d) => d.dealer);
  const b = accepted.slice(0, oldThreshold);
  const commitments = redistributedCommitments(old.commitments, b, newThreshold);
  const shares = newXs.map((x, j) =>
    combineSubShares(
      x,
      b.map((d) => ({ dealer: d.dealer, s: subShare(d, j).s, r: subShare(d, j).r })),
      oldThreshold,
    ),
  );
  return { shares, commitments, rejected };
}

/** Every share verifies, C'_0 == C_0, any t shares give the secret and any t − 1 do not. */
function expectSound(
  next: Sharing,
  old: Sharing,
  secret: Uint8Array,
  threshold: number,
  xs: readonly number[],
): void {
  expect(next.commitments).toHaveLength(threshold);
  expect(next.commitments[0]).toEqual(old.commitments[0]);
  expect(next.shares.map((s) => s.x)).toEqual(xs);
  for (const share of next.shares) expect(verifyShare(next.commitments, share)).toBe(true);
  for (const subset of subsetsOf(next.shares, threshold)) {
    expect(combinePedersen(subset, threshold, () => true).s).toEqual(secret);
  }
  if (threshold > 1) {
    for (const subset of subsetsOf(next.shares, threshold - 1)) {
      expect(combinePedersen(subset, threshold - 1, () => true).s).not.toEqual(secret);
    }
  }
}

describe('redistribution keeps the secret and verifiability', () => {
  const scenarios: [string, number[], number, number[], number][] = [
    ['join: 5/3 -> 6/4', xsOf(5), 3, xsOf(6), 4],
    ['leave: 5/3 -> 4/3 (new xs 1..4)', xsOf(5), 3, xsOf(4), 3],
    ['replace: xs 1..5 -> 2..6, t 3', xsOf(5), 3, [2, 3, 4, 5, 6], 3],
    ['refresh: 5/3 -> 5/3', xsOf(5), 3, xsOf(5), 3],
    ['down to 1: 3/2 -> 2/1', xsOf(3), 2, xsOf(2), 1],
    ['up from 1: 2/1 -> 3/3', xsOf(2), 1, xsOf(3), 3],
  ];
  for (const [label, oldXs, oldT, newXs, newT] of scenarios) {
    it(label, () => {
      const secret = randomScalar();
      const old = dealPedersen(secret, oldT, oldXs);
      const dealings = old.shares.map((s) => redeal(s, old.commitments, newT, newXs));
      for (const d of dealings) {
        expect(d.commitments).toHaveLength(newT);
        expect(d.subShares.map((s) => s.x)).toEqual(newXs);
      }
      const next = redistribute(old, dealings, newT, newXs);
      expect(next.rejected).toEqual([]);
      expectSound(next, old, secret, newT, newXs);
    });
  }

  it('refresh: the same xs and t get new shares and commitments, the secret unchanged', () => {
    const secret = randomScalar();
    const old = dealPedersen(secret, 3, xsOf(5));
    const dealings = old.shares.map((s) => redeal(s, old.commitments, 3, xsOf(5)));
    const next = redistribute(old, dealings, 3, xsOf(5));
    expectSound(next, old, secret, 3, xsOf(5));
    next.shares.forEach((share, i) => {
      expect(share.s).not.toEqual(at(old.shares, i).s);
      expect(share.r).not.toEqual(at(old.shares, i).r);
      // An old share does not verify against the refreshed commitments.
      expect(verifyShare(next.commitments, at(old.shares, i))).toBe(false);
    });
    expect(next.commitments.slice(1)).not.toEqual(old.commitments.slice(1));
  });

  it('any dealer set B of t old nodes gives the same secret (B = {3, 4, 5})', () => {
    const secret = randomScalar();
    const old = dealPedersen(secret, 3, xsOf(5));
    const dealings = old.shares.slice(2).map((s) => redeal(s, old.commitments, 4, xsOf(6)));
    expectSound(redistribute(old, dealings, 4, xsOf(6)), old, secret, 4, xsOf(6));
  });

  it('two successive redistributions (5/3 -> 6/4 -> 4/2) keep the secret', () => {
    const secret = randomScalar();
    const first = dealPedersen(secret, 3, xsOf(5));
    const second = redistribute(
      first,
      first.shares.map((s) => redeal(s, first.commitments, 4, xsOf(6))),
      4,
      xsOf(6),
    );
    expectSound(second, first, secret, 4, xsOf(6));
    // The second hop takes dealers 6, 5, 3, 1 (not the first t): any t verified ones do.
    const dealers = [5, 4, 2, 0].map((i) => at(second.shares, i));
    const third = redistribute(
      second,
      dealers.map((s) => redeal(s, second.commitments, 2, xsOf(4))),
      2,
      xsOf(4),
    );
    expectSound(third, first, secret, 2, xsOf(4));
  });
});

describe('a cheating dealer is detected, named and routed around', () => {
  const secret = randomScalar();
  const old = dealPedersen(secret, 3, xsOf(5));
  const newXs = xsOf(6);

  it('a wrong sub-share for one recipient fails verifySubShare for that recipient only', () => {
    const dealings = old.shares.map((s) => redeal(s, old.commitments, 4, newXs));
    const cheat = at(dealings, 1);
    const victim = 2; // new x = 3
    const honest = subShare(cheat, victim);
    const s = honest.s.slice();
    s[0] = (s[0] ?? 0) ^ 1;
    const forged: Dealing = {
      ...cheat,
      subShares: cheat.subShares.map((sub, j) => (j === victim ? { ...honest, s } : sub)),
    };
    newXs.forEach((_, j) => {
      expect(verifySubShare(old.commitments, 4, forged, subShare(forged, j))).toBe(j !== victim);
    });
    const next = redistribute(old, dealings.with(1, forged), 4, newXs);
    expect(next.rejected).toEqual([2]);
    expectSound(next, old, secret, 4, newXs);
  });

  it('a dealing of some other value (D_0 not its old share) fails for every recipient', () => {
    const dealings = old.shares.map((s) => redeal(s, old.commitments, 4, newXs));
    // Old node 4 deals a fresh secret instead of its share: the sub-shares lie on D, but D_0
    // does not match commitmentAt(C, 4).
    const other = dealPedersen(randomScalar(), 4, newXs);
    const forged: Dealing = { dealer: 4, ...other, subShares: other.shares };
    newXs.forEach((_, j) => {
      expect(verifySubShare(old.commitments, 4, forged, subShare(forged, j))).toBe(false);
    });
    // Passed straight to redistributedCommitments, it is refused and named.
    expect(() =>
      redistributedCommitments(old.commitments, [at(dealings, 0), forged, at(dealings, 4)], 4),
    ).toThrow(
      expect.objectContaining({
        code: 'COMMITMENT_MISMATCH',
        message: expect.stringContaining('x = 4'),
      }),
    );
    const next = redistribute(old, dealings.with(3, forged), 4, newXs);
    expect(next.rejected).toEqual([4]);
    expectSound(next, old, secret, 4, newXs);
  });

  it("a dealing of higher degree than t' is refused (INVALID_COMMITMENTS)", () => {
    const d = redeal(at(old.shares, 0), old.commitments, 5, newXs);
    expectCode(() => verifySubShare(old.commitments, 4, d, subShare(d, 0)), 'INVALID_COMMITMENTS');
    expectCode(() => redistributedCommitments(old.commitments, [d], 4), 'INVALID_COMMITMENTS');
  });

  it('redeal refuses a share that does not verify against the old commitments', () => {
    const share = at(old.shares, 0);
    const r = share.r.slice();
    r[5] = (r[5] ?? 0) ^ 0x10;
    expectCode(() => redeal({ ...share, r }, old.commitments, 3, newXs), 'SHARE_NOT_VERIFIED');
    expectCode(() => redeal({ ...share, x: 2 }, old.commitments, 3, newXs), 'SHARE_NOT_VERIFIED');
  });

  it('sub-shares combined over a different B than the commitments do not verify', () => {
    const dealings = old.shares.map((s) => redeal(s, old.commitments, 3, newXs));
    const commitments = redistributedCommitments(old.commitments, dealings.slice(0, 3), 3);
    const share = combineSubShares(
      1,
      dealings
        .slice(2)
        .map((d) => ({ dealer: d.dealer, s: subShare(d, 0).s, r: subShare(d, 0).r })),
      3,
    );
    expect(verifyShare(commitments, share)).toBe(false);
  });
});

describe('bad redistribution input is a typed ShamirError', () => {
  const old = dealPedersen(randomScalar(), 2, xsOf(3));
  const dealings = old.shares.map((s) => redeal(s, old.commitments, 2, xsOf(3)));
  const contribution = (d: Dealing): { dealer: number; s: Uint8Array; r: Uint8Array } => ({
    dealer: d.dealer,
    s: subShare(d, 0).s,
    r: subShare(d, 0).r,
  });

  it('redeal refuses a bad threshold or xs', () => {
    const share = at(old.shares, 0);
    expectCode(() => redeal(share, old.commitments, 0, xsOf(3)), 'INVALID_THRESHOLD');
    expectCode(() => redeal(share, old.commitments, 4, xsOf(3)), 'INVALID_THRESHOLD');
    expectCode(() => redeal(share, old.commitments, 2, [1, 1, 2]), 'DUPLICATE_X');
    expectCode(() => redeal(share, old.commitments, 1, []), 'INVALID_SHARE_COUNT');
    expectCode(() => redeal(share, [], 1, [1]), 'INVALID_COMMITMENTS');
  });

  it('redistributedCommitments refuses a dealer set of the wrong size or with duplicates', () => {
    expectCode(
      () => redistributedCommitments(old.commitments, dealings.slice(0, 1), 2),
      'INVALID_DEALER_SET',
    );
    expectCode(() => redistributedCommitments(old.commitments, dealings, 2), 'INVALID_DEALER_SET');
    expectCode(
      () => redistributedCommitments(old.commitments, [at(dealings, 0), at(dealings, 0)], 2),
      'DUPLICATE_X',
    );
    expectCode(() => redistributedCommitments(old.commitments, [], 2), 'INVALID_SHARE_COUNT');
    expectCode(
      () => redistributedCommitments(old.commitments, [null, at(dealings, 0)] as never, 2),
      'INVALID_DEALING',
    );
    expectCode(
      () =>
        redistributedCommitments(
          old.commitments,
          [{ ...at(dealings, 0), dealer: 0 }, at(dealings, 1)],
          2,
        ),
      'INVALID_X',
    );
  });

  it('combineSubShares refuses a dealer set of the wrong size or with duplicates', () => {
    const [a, b, c] = dealings.map(contribution);
    expectCode(() => combineSubShares(1, [a!], 2), 'INVALID_DEALER_SET');
    expectCode(() => combineSubShares(1, [a!, b!, c!], 2), 'INVALID_DEALER_SET');
    expectCode(() => combineSubShares(1, [a!, a!], 2), 'DUPLICATE_X');
    expectCode(() => combineSubShares(0, [a!, b!], 2), 'INVALID_X');
    expectCode(() => combineSubShares(1, [a!, b!], 0), 'INVALID_THRESHOLD');
    expectCode(
      () => combineSubShares(1, [a!, { ...b!, s: new Uint8Array(32).fill(0xff) }], 2),
      'INVALID_SCALAR',
    );
    expectCode(() => combineSubShares(1, [a!, 'b'] as never, 2), 'INVALID_SHARE');
  });

  it('verifySubShare refuses malformed dealings and sub-shares', () => {
    const d = at(dealings, 0);
    const sub = subShare(d, 0);
    expectCode(() => verifySubShare(old.commitments, 2, null as never, sub), 'INVALID_DEALING');
    expectCode(() => verifySubShare(old.commitments, 2, { ...d, dealer: 256 }, sub), 'INVALID_X');
    expectCode(
      () =>
        verifySubShare(
          old.commitments,
          2,
          { ...d, commitments: [new Uint8Array(32), at(d.commitments, 1)] },
          sub,
        ),
      'INVALID_POINT',
    );
    expectCode(
      () => verifySubShare(old.commitments, 2, d, { ...sub, s: new Uint8Array(3) }),
      'INVALID_SCALAR',
    );
    expectCode(() => verifySubShare(old.commitments, 0, d, sub), 'INVALID_THRESHOLD');
  });
});
