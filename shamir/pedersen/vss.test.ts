// Pedersen VSS through the public entry: deal, verify and combine round trips for several (t, n),
// any t shares give the secret, a share with one flipped bit or at the wrong x fails verification,
// the cached-point path agrees, and every bad input is a typed ShamirError.
import { describe, expect, it } from 'vitest';
import type { ShamirErrorCode } from '../errors.ts';
import { at, range, subsetsOf } from '../../test/support/shamir-helpers.ts';
import {
  combinePedersen,
  commitmentAt,
  dealPedersen,
  randomScalar,
  verifyShare,
  verifyShareAt,
  type PedersenShare,
} from './index.ts';

function expectCode(fn: () => unknown, code: ShamirErrorCode): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'ShamirError', code }));
}

/** The share with bit `bit` of byte `i` of its s (or r) flipped; stays canonical (bit < 252). */
function flip(share: PedersenShare, field: 's' | 'r', i: number, bit: number): PedersenShare {
  const bytes = share[field].slice();
  bytes[i] = (bytes[i] ?? 0) ^ (1 << bit);
  return { ...share, [field]: bytes };
}

/** A verify that accepts: these tests compare the reconstruction with the secret themselves. */
const accept = (): boolean => true;

const SHAPES: [number, number][] = [
  [1, 1],
  [1, 3],
  [2, 2],
  [2, 3],
  [3, 5],
  [5, 5],
  [4, 7],
];

describe('deal, verify and combine round trip', () => {
  for (const [t, n] of SHAPES) {
    it(`${t} of ${n}: every share verifies and any ${t} shares combine to the secret`, () => {
      const secret = randomScalar();
      const { shares, commitments } = dealPedersen(
        secret,
        t,
        range(n).map((i) => i + 1),
      );
      expect(shares.map((s) => s.x)).toEqual(range(n).map((i) => i + 1));
      expect(commitments).toHaveLength(t);
      for (const share of shares) expect(verifyShare(commitments, share)).toBe(true);
      for (const subset of subsetsOf(shares, t)) {
        expect(combinePedersen(subset, t, accept).s).toEqual(secret);
        // Order does not matter.
        expect(combinePedersen([...subset].reverse(), t, accept).s).toEqual(secret);
      }
    });
  }

  it('C_0 opens to the secret and the blinding: combine returns the injected blinding', () => {
    const secret = randomScalar();
    const blinding = randomScalar();
    const { shares } = dealPedersen(secret, 3, [9, 200, 17, 4], { blinding });
    expect(combinePedersen(shares, 3, accept)).toEqual({ s: secret, r: blinding });
  });

  it('deals to arbitrary distinct xs, including 255', () => {
    const secret = randomScalar();
    const { shares, commitments } = dealPedersen(secret, 2, [255, 7, 128]);
    expect(shares.map((s) => s.x)).toEqual([255, 7, 128]);
    for (const share of shares) expect(verifyShare(commitments, share)).toBe(true);
    expect(combinePedersen([at(shares, 0), at(shares, 2)], 2, accept).s).toEqual(secret);
  });

  it('two deals of one secret give different shares and commitments (fresh randomness)', () => {
    const secret = randomScalar();
    const a = dealPedersen(secret, 2, [1, 2]);
    const b = dealPedersen(secret, 2, [1, 2]);
    expect(a.commitments[0]).not.toEqual(b.commitments[0]);
    expect(a.shares[0]?.s).not.toEqual(b.shares[0]?.s);
  });

  it('fewer than t shares interpolate to something other than the secret', () => {
    const secret = randomScalar();
    const { shares } = dealPedersen(secret, 3, [1, 2, 3, 4, 5]);
    for (const subset of subsetsOf(shares, 2)) {
      expect(combinePedersen(subset, 2, accept).s).not.toEqual(secret);
    }
  });
});

describe('verification catches a wrong share', () => {
  const { shares, commitments } = dealPedersen(randomScalar(), 3, [1, 2, 3, 4, 5]);
  const share = at(shares, 2);

  for (const field of ['s', 'r'] as const) {
    for (const [i, bit] of [
      [0, 0],
      [15, 3],
      [31, 2],
    ] as const) {
      it(`fails with bit ${bit} of ${field}[${i}] flipped`, () => {
        const bad = flip(share, field, i, bit);
        expect(verifyShare(commitments, bad)).toBe(false);
        expect(verifyShareAt(commitmentAt(commitments, share.x), bad)).toBe(false);
      });
    }
  }

  it('fails when verified at the wrong x', () => {
    for (const x of [1, 2, 4, 5, 6, 255]) {
      expect(verifyShare(commitments, { ...share, x })).toBe(false);
      expect(verifyShareAt(commitmentAt(commitments, x), share)).toBe(false);
    }
  });

  it('fails against another dealing of the same secret', () => {
    const other = dealPedersen(randomScalar(), 3, [1, 2, 3, 4, 5]);
    expect(verifyShare(other.commitments, share)).toBe(false);
  });

  it('verifyShareAt with the cached commitmentAt point agrees with verifyShare', () => {
    for (const s of shares) {
      const point = commitmentAt(commitments, s.x);
      expect(point).toHaveLength(32);
      expect(verifyShareAt(point, s)).toBe(true);
    }
  });
});

describe('bad input is a typed ShamirError', () => {
  const secret = randomScalar();
  const { shares, commitments } = dealPedersen(secret, 2, [1, 2, 3]);
  const share = at(shares, 0);

  const dealCases: [string, ShamirErrorCode, unknown, unknown, unknown?][] = [
    ['threshold 0', 'INVALID_THRESHOLD', 0, [1, 2]],
    ['threshold 1.5', 'INVALID_THRESHOLD', 1.5, [1, 2]],
    ['threshold 256', 'INVALID_THRESHOLD', 256, [1, 2]],
    ['threshold above the node count', 'INVALID_THRESHOLD', 3, [1, 2]],
    ['threshold a string', 'INVALID_THRESHOLD', '2', [1, 2]],
    ['xs empty', 'INVALID_SHARE_COUNT', 1, []],
    ['xs not an array', 'INVALID_SHARE_COUNT', 1, 3],
    ['more than 255 xs', 'INVALID_SHARE_COUNT', 1, range(256).map((i) => i + 1)],
    ['x = 0 (the secret)', 'INVALID_X', 1, [0, 1]],
    ['x = 256', 'INVALID_X', 1, [1, 256]],
    ['x not an integer', 'INVALID_X', 1, [1, 2.5]],
    ['duplicate x', 'DUPLICATE_X', 2, [1, 2, 1]],
    ['unknown option', 'INVALID_OPTIONS', 1, [1], { blinding: secret, blind: secret }],
    ['options null', 'INVALID_OPTIONS', 1, [1], null],
  ];
  for (const [label, code, threshold, xs, options] of dealCases) {
    it(`dealPedersen refuses ${label} (${code})`, () => {
      expectCode(
        () =>
          dealPedersen(
            secret,
            threshold as number,
            xs as number[],
            ...((options === undefined ? [] : [options]) as []),
          ),
        code,
      );
    });
  }

  const shareCases: [string, ShamirErrorCode, unknown][] = [
    ['share null', 'INVALID_SHARE', null],
    ['share an array', 'INVALID_SHARE', [1, share.s, share.r]],
    ['share bytes', 'INVALID_SHARE', share.s],
    ['x missing', 'INVALID_X', { s: share.s, r: share.r }],
    ['x = 0', 'INVALID_X', { ...share, x: 0 }],
    ['s missing', 'INVALID_SCALAR', { x: 1, r: share.r }],
    ['r of 31 bytes', 'INVALID_SCALAR', { ...share, r: share.r.subarray(1) }],
    ['x inherited, not own', 'INVALID_X', Object.create(share) as object],
  ];
  for (const [label, code, bad] of shareCases) {
    it(`verifyShare and combinePedersen refuse ${label} (${code})`, () => {
      expectCode(() => verifyShare(commitments, bad as PedersenShare), code);
      expectCode(() => combinePedersen([at(shares, 1), bad as PedersenShare], 2, accept), code);
    });
  }

  it('verifyShare refuses a commitment vector that is empty, too long or not an array', () => {
    expectCode(() => verifyShare([], share), 'INVALID_COMMITMENTS');
    expectCode(
      () =>
        verifyShare(
          Array.from({ length: 256 }, () => at(commitments, 0)),
          share,
        ),
      'INVALID_COMMITMENTS',
    );
    expectCode(() => verifyShare(at(commitments, 0) as never, share), 'INVALID_COMMITMENTS');
  });

  it('commitmentAt refuses x outside 1..255', () => {
    for (const x of [0, 256, -1, 1.5]) expectCode(() => commitmentAt(commitments, x), 'INVALID_X');
  });

  it('combinePedersen refuses fewer than threshold shares, and duplicate xs', () => {
    expectCode(() => combinePedersen([share], 2, accept), 'NOT_ENOUGH_SHARES');
    expectCode(() => combinePedersen([], 1, accept), 'INVALID_SHARE_COUNT');
    expectCode(() => combinePedersen([share, share], 2, accept), 'DUPLICATE_X');
    // Duplicates among the shares beyond the first t are refused too.
    expectCode(() => combinePedersen([share, at(shares, 1), share], 2, accept), 'DUPLICATE_X');
    expectCode(() => combinePedersen(shares, 0, accept), 'INVALID_THRESHOLD');
  });

  it('combinePedersen hands back nothing its verify refuses: NO_VERIFIED_SUBSET, the result wiped', () => {
    const secret = randomScalar();
    const { shares } = dealPedersen(secret, 2, [1, 2, 3]);
    let seen: Uint8Array | undefined;
    expectCode(
      () =>
        combinePedersen(shares, 2, (s) => {
          seen = s;
          return false;
        }),
      'NO_VERIFIED_SUBSET',
    );
    expect(seen?.every((b) => b === 0)).toBe(true);
    const matching = combinePedersen(shares, 2, (s) => s.every((b, i) => b === secret[i]));
    expect(matching.s).toEqual(secret);
  });

  it('combinePedersen uses exactly the first threshold shares', () => {
    const wrong = flip(at(shares, 2), 's', 0, 0);
    expect(combinePedersen([at(shares, 0), at(shares, 1), wrong], 2, accept).s).toEqual(secret);
    expect(combinePedersen([at(shares, 0), wrong, at(shares, 1)], 2, accept).s).not.toEqual(secret);
  });
});
