// Interoperability with the audited npm package `shamir-secret-sharing` (shares y || x, random
// distinct x), both directions, plus the strictness of the explicit conversions. Ours puts
// shares at x = 1..n, theirs at random x: both must combine in the other implementation.
import fc from 'fast-check';
import { combine as sssCombine, split as sssSplit } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';
import {
  combine,
  fromSecretSharingFormat,
  MAX_SECRET_BYTES,
  split,
  toSecretSharingFormat,
  type ShamirErrorCode,
  type Share,
} from './index.ts';
import { at, range, subsetsOf } from '../test/support/shamir-helpers.ts';

function expectCode(fn: () => unknown, code: ShamirErrorCode): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'ShamirError', code }));
}

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const isSecret =
  (secret: Uint8Array) =>
  (candidate: Uint8Array): boolean =>
    candidate.length === secret.length && candidate.every((b, i) => b === secret[i]);

describe('interop with shamir-secret-sharing', () => {
  it('any 3 of 5 shares made by shamir-secret-sharing import and combine here', async () => {
    const theirs = await sssSplit(SECRET, 5, 3);
    const imported = theirs.map(fromSecretSharingFormat);
    expect(new Set(imported.map((s) => s.x)).size).toBe(5);
    const subsets = subsetsOf(imported, 3);
    expect(subsets.length).toBe(10);
    for (const subset of subsets) {
      // verify accepts anything: the reconstruction itself must be the secret.
      const result = combine(subset, { threshold: 3, verify: () => true });
      expect(result.secret).toEqual(SECRET);
    }
    const all = combine(imported, { threshold: 3, verify: isSecret(SECRET) });
    expect(all.disagreeing).toEqual([]);
  });

  it('any 3 of 5 shares made here export and combine in shamir-secret-sharing', async () => {
    const exported = split(SECRET, { threshold: 3, shares: 5 }).map(toSecretSharingFormat);
    for (const subset of subsetsOf(exported, 3)) {
      expect(await sssCombine(subset)).toEqual(SECRET);
    }
  });

  it('both directions hold for random secrets and schemes (2 <= t <= n <= 10, any t shares)', async () => {
    const scheme = fc.integer({ min: 2, max: 10 }).chain((n) =>
      fc.integer({ min: 2, max: n }).chain((t) =>
        fc.record({
          n: fc.constant(n),
          t: fc.constant(t),
          picks: fc.shuffledSubarray(range(n), { minLength: t, maxLength: t }),
          secret: fc.uint8Array({ minLength: 1, maxLength: 48 }),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(scheme, async ({ n, t, picks, secret }) => {
        const theirs = (await sssSplit(secret, n, t)).map(fromSecretSharingFormat);
        const fromTheirs = combine(
          picks.map((i) => at(theirs, i)),
          { threshold: t, verify: () => true },
        );
        expect(fromTheirs.secret).toEqual(secret);
        const ours = split(secret, { threshold: t, shares: n }).map(toSecretSharingFormat);
        expect(await sssCombine(picks.map((i) => at(ours, i)))).toEqual(secret);
      }),
      { numRuns: 150 },
    );
  });
});

describe('share format conversion', () => {
  it('writes y followed by the one byte x', () => {
    expect(toSecretSharingFormat({ x: 7, y: Uint8Array.of(1, 2, 3) })).toEqual(
      Uint8Array.of(1, 2, 3, 7),
    );
    expect(fromSecretSharingFormat(Uint8Array.of(1, 2, 3, 7))).toEqual({
      x: 7,
      y: Uint8Array.of(1, 2, 3),
    });
  });

  it('round-trips both ways', () => {
    const share = fc.record({
      x: fc.integer({ min: 1, max: 255 }),
      y: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    });
    fc.assert(
      fc.property(share, (s: Share) => {
        const bytes = toSecretSharingFormat(s);
        expect(fromSecretSharingFormat(bytes)).toEqual(s);
        expect(toSecretSharingFormat(fromSecretSharingFormat(bytes))).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('copies: changing the bytes later does not change an imported share, nor the reverse', () => {
    const bytes = Uint8Array.of(9, 9, 4);
    const share = fromSecretSharingFormat(bytes);
    bytes[0] = 0;
    expect(share.y).toEqual(Uint8Array.of(9, 9));
    const exported = toSecretSharingFormat(share);
    share.y[1] = 0;
    expect(exported).toEqual(Uint8Array.of(9, 9, 4));
  });

  const fromCases: [string, ShamirErrorCode, unknown][] = [
    ['not a Uint8Array (number[])', 'INVALID_SHARE_ENCODING', [1, 2]],
    ['a string', 'INVALID_SHARE_ENCODING', 'ab'],
    ['empty', 'INVALID_SHARE_ENCODING', new Uint8Array(0)],
    ['1 byte: an x without y', 'INVALID_SHARE_ENCODING', Uint8Array.of(1)],
    [
      'longer than MAX_SECRET_BYTES + 1',
      'INVALID_SHARE_ENCODING',
      new Uint8Array(MAX_SECRET_BYTES + 2).fill(1),
    ],
    ['x = 0 (the secret itself)', 'INVALID_X', Uint8Array.of(5, 6, 0)],
  ];
  it.each(fromCases)('fromSecretSharingFormat rejects %s -> %s', (_what, code, bytes) => {
    expectCode(() => fromSecretSharingFormat(bytes as Uint8Array), code);
  });

  const toCases: [string, ShamirErrorCode, unknown][] = [
    ['null', 'INVALID_SHARE', null],
    ['x = 0', 'INVALID_X', { x: 0, y: Uint8Array.of(1) }],
    ['x = 256', 'INVALID_X', { x: 256, y: Uint8Array.of(1) }],
    ['empty y', 'INVALID_SHARE', { x: 1, y: new Uint8Array(0) }],
    ['y a number[]', 'INVALID_SHARE', { x: 1, y: [1] }],
  ];
  it.each(toCases)('toSecretSharingFormat rejects %s -> %s', (_what, code, share) => {
    expectCode(() => toSecretSharingFormat(share as Share), code);
  });
});
