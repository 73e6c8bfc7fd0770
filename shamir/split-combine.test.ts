// Long file: the negative-input tables of split and combine and the properties that tie them together share one set of fixtures.
// split and combine through the public entry: typed rejections for every bad input, any t of n
// shares reconstruct, combine never returns an unverified secret, wrong shares are routed
// around and named, and the random source is used for every coefficient byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  combine,
  MAX_SECRET_BYTES,
  ShamirError,
  split,
  type CombineOptions,
  type ShamirErrorCode,
  type Share,
  type SplitOptions,
} from './index.ts';
import { at, countingRandom, range, subsetsOf } from '../test/support/shamir-helpers.ts';

function expectCode(fn: () => unknown, code: ShamirErrorCode): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'ShamirError', code }));
}

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const acceptAll = (): boolean => true;
const rejectAll = (): boolean => false;
const isSecret =
  (secret: Uint8Array) =>
  (candidate: Uint8Array): boolean =>
    candidate.length === secret.length && candidate.every((b, i) => b === secret[i]);

/** Flips bytes of a share's y (XOR with a nonzero pattern): a wrong share at the same x. */
function corrupt(share: Share, pattern: Uint8Array): Share {
  const y = share.y.map((b, i) => b ^ (pattern[i % pattern.length] ?? 0));
  if (y.every((b, i) => b === share.y[i])) y[0] = (y[0] ?? 0) ^ 1;
  return { x: share.x, y };
}

describe('split rejects bad input with a typed code', () => {
  const ok: SplitOptions = { threshold: 2, shares: 3 };
  const polluted: object = Object.create({ threshold: 2, shares: 3 }) as object;
  const cases: [string, ShamirErrorCode, unknown, unknown][] = [
    ['secret not a Uint8Array (string)', 'INVALID_SECRET', 'secret', ok],
    ['secret not a Uint8Array (number[])', 'INVALID_SECRET', [1, 2, 3], ok],
    ['secret undefined', 'INVALID_SECRET', undefined, ok],
    ['secret empty', 'INVALID_SECRET', new Uint8Array(0), ok],
    [
      'secret longer than MAX_SECRET_BYTES',
      'INVALID_SECRET',
      new Uint8Array(MAX_SECRET_BYTES + 1),
      ok,
    ],
    ['options null', 'INVALID_OPTIONS', SECRET, null],
    ['options an array', 'INVALID_OPTIONS', SECRET, [2, 3]],
    ['options a number', 'INVALID_OPTIONS', SECRET, 2],
    [
      'unknown option (misspelt)',
      'INVALID_OPTIONS',
      SECRET,
      { treshold: 2, threshold: 2, shares: 3 },
    ],
    ['unknown symbol option', 'INVALID_OPTIONS', SECRET, { ...ok, [Symbol('x')]: 1 }],
    ['threshold only inherited, not own', 'INVALID_THRESHOLD', SECRET, polluted],
    ['threshold missing', 'INVALID_THRESHOLD', SECRET, { shares: 3 }],
    ['threshold 1', 'INVALID_THRESHOLD', SECRET, { threshold: 1, shares: 3 }],
    ['threshold 0', 'INVALID_THRESHOLD', SECRET, { threshold: 0, shares: 3 }],
    ['threshold 256', 'INVALID_THRESHOLD', SECRET, { threshold: 256, shares: 255 }],
    ['threshold 2.5', 'INVALID_THRESHOLD', SECRET, { threshold: 2.5, shares: 3 }],
    ['threshold NaN', 'INVALID_THRESHOLD', SECRET, { threshold: NaN, shares: 3 }],
    ['threshold a string', 'INVALID_THRESHOLD', SECRET, { threshold: '2', shares: 3 }],
    ['shares missing', 'INVALID_SHARE_COUNT', SECRET, { threshold: 2 }],
    ['shares below threshold', 'INVALID_SHARE_COUNT', SECRET, { threshold: 3, shares: 2 }],
    ['shares 256', 'INVALID_SHARE_COUNT', SECRET, { threshold: 2, shares: 256 }],
    ['shares 3.5', 'INVALID_SHARE_COUNT', SECRET, { threshold: 2, shares: 3.5 }],
    ['shares Infinity', 'INVALID_SHARE_COUNT', SECRET, { threshold: 2, shares: Infinity }],
    ['random not a function', 'INVALID_OPTIONS', SECRET, { ...ok, random: 'crypto' }],
    ['random null', 'INVALID_OPTIONS', SECRET, { ...ok, random: null }],
    [
      'random too short',
      'INVALID_RANDOM_OUTPUT',
      SECRET,
      { ...ok, random: (n: number) => new Uint8Array(n - 1) },
    ],
    [
      'random too long',
      'INVALID_RANDOM_OUTPUT',
      SECRET,
      { ...ok, random: (n: number) => new Uint8Array(n + 1) },
    ],
    [
      'random returns number[]',
      'INVALID_RANDOM_OUTPUT',
      SECRET,
      { ...ok, random: (n: number) => range(n) },
    ],
    [
      'random returns undefined',
      'INVALID_RANDOM_OUTPUT',
      SECRET,
      { ...ok, random: () => undefined },
    ],
  ];
  it.each(cases)('%s -> %s', (_what, code, secret, options) => {
    expectCode(() => split(secret as Uint8Array, options as SplitOptions), code);
  });

  it('error messages name lengths and types, never secret bytes', () => {
    const marked = new Uint8Array(4).fill(0xab);
    let message = '';
    try {
      split(marked, { threshold: 2, shares: 3, random: () => new Uint8Array(1) });
    } catch (e) {
      expect(e).toBeInstanceOf(ShamirError);
      message = (e as ShamirError).message;
    }
    expect(message).toMatch(/expected a Uint8Array of 4 bytes/);
    expect(message).not.toMatch(/171|ab/i);
  });

  it('an error thrown by the random source propagates unchanged', () => {
    const failure = new Error('entropy source down');
    expect(() =>
      split(SECRET, {
        threshold: 2,
        shares: 2,
        random: () => {
          throw failure;
        },
      }),
    ).toThrow(failure);
  });
});

describe('split output', () => {
  it('makes n shares at x = 1..n, each as long as the secret', () => {
    const shares = split(SECRET, { threshold: 3, shares: 7 });
    expect(shares.map((s) => s.x)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const s of shares) expect(s.y.length).toBe(SECRET.length);
  });

  it('asks the random source once for exactly (t - 1) * length bytes and wipes them after', () => {
    const requests: number[] = [];
    const handed: Uint8Array[] = [];
    const random = (length: number): Uint8Array => {
      requests.push(length);
      const bytes = countingRandom(7)(length);
      handed.push(bytes);
      return bytes;
    };
    split(SECRET, { threshold: 4, shares: 5, random });
    expect(requests).toEqual([3 * SECRET.length]);
    expect(handed[0]?.every((b) => b === 0)).toBe(true);
  });

  it('is deterministic for a deterministic random source', () => {
    const options = { threshold: 3, shares: 5 };
    const a = split(SECRET, { ...options, random: countingRandom(42) });
    const b = split(SECRET, { ...options, random: countingRandom(42) });
    expect(a).toEqual(b);
  });

  it('uses every random byte: changing any one coefficient byte changes some share', () => {
    const secret = Uint8Array.of(1, 2, 3);
    const base = countingRandom(9)(2 * secret.length);
    const sharesFor = (coefficients: Uint8Array): Share[] =>
      split(secret, { threshold: 3, shares: 3, random: () => coefficients.slice() });
    const reference = sharesFor(base);
    for (const k of range(base.length)) {
      const changed = base.slice();
      changed[k] = (changed[k] ?? 0) ^ 0x5a;
      expect(sharesFor(changed)).not.toEqual(reference);
    }
  });

  it('the default CSPRNG gives different shares for the same secret on two calls', () => {
    const a = split(SECRET, { threshold: 2, shares: 2 });
    const b = split(SECRET, { threshold: 2, shares: 2 });
    expect(a[0]?.y).not.toEqual(b[0]?.y);
    expect(a[1]?.y).not.toEqual(b[1]?.y);
  });

  it('the default CSPRNG serves requests above the 65536-byte getRandomValues quota', () => {
    const secret = Uint8Array.from({ length: MAX_SECRET_BYTES }, (_, i) => i * 7);
    const shares = split(secret, { threshold: 3, shares: 3 });
    // Coefficients were drawn: every share differs from the secret somewhere past the quota.
    for (const s of shares) expect(s.y.subarray(40_000)).not.toEqual(secret.subarray(40_000));
    expect(combine(shares, { threshold: 3, verify: isSecret(secret) }).secret).toEqual(secret);
  });

  it('does not modify the secret', () => {
    const secret = SECRET.slice();
    split(secret, { threshold: 2, shares: 5 });
    expect(secret).toEqual(SECRET);
  });
});

describe('combine rejects bad input with a typed code', () => {
  const shares = split(SECRET, { threshold: 2, shares: 4 });
  const s1 = at(shares, 0);
  const s2 = at(shares, 1);
  const ok: CombineOptions = { threshold: 2, verify: acceptAll };
  const many = range(256).map((i) => ({ x: (i % 255) + 1, y: s1.y }));
  const cases: [string, ShamirErrorCode, unknown, unknown][] = [
    ['options null', 'INVALID_OPTIONS', shares, null],
    ['options an array', 'INVALID_OPTIONS', shares, []],
    ['unknown option', 'INVALID_OPTIONS', shares, { ...ok, maxCandidate: 5 }],
    ['verify missing', 'INVALID_OPTIONS', shares, { threshold: 2 }],
    ['verify not a function', 'INVALID_OPTIONS', shares, { threshold: 2, verify: true }],
    ['maxCandidates 0', 'INVALID_OPTIONS', shares, { ...ok, maxCandidates: 0 }],
    ['maxCandidates -1', 'INVALID_OPTIONS', shares, { ...ok, maxCandidates: -1 }],
    ['maxCandidates 1.5', 'INVALID_OPTIONS', shares, { ...ok, maxCandidates: 1.5 }],
    ['maxCandidates null', 'INVALID_OPTIONS', shares, { ...ok, maxCandidates: null }],
    ['maxCandidates a string', 'INVALID_OPTIONS', shares, { ...ok, maxCandidates: '10' }],
    ['threshold missing', 'INVALID_THRESHOLD', shares, { verify: acceptAll }],
    ['threshold 1', 'INVALID_THRESHOLD', shares, { ...ok, threshold: 1 }],
    ['threshold 256', 'INVALID_THRESHOLD', shares, { ...ok, threshold: 256 }],
    ['threshold 2.5', 'INVALID_THRESHOLD', shares, { ...ok, threshold: 2.5 }],
    ['shares not an array', 'INVALID_SHARE', { 0: s1, 1: s2, length: 2 }, ok],
    ['more than 255 shares', 'INVALID_SHARE_COUNT', many, ok],
    ['no shares', 'NOT_ENOUGH_SHARES', [], ok],
    ['fewer shares than the threshold', 'NOT_ENOUGH_SHARES', [s1, s2], { ...ok, threshold: 3 }],
    ['a share is null', 'INVALID_SHARE', [s1, null], ok],
    ['a share is a number', 'INVALID_SHARE', [s1, 7], ok],
    ['a share is a y || x byte string', 'INVALID_SHARE', [s1, new Uint8Array(33)], ok],
    ['x = 0 (the secret itself)', 'INVALID_X', [s1, { x: 0, y: s2.y }], ok],
    ['x = 256', 'INVALID_X', [s1, { x: 256, y: s2.y }], ok],
    ['x = -1', 'INVALID_X', [s1, { x: -1, y: s2.y }], ok],
    ['x = 1.5', 'INVALID_X', [s1, { x: 1.5, y: s2.y }], ok],
    ['x = NaN', 'INVALID_X', [s1, { x: NaN, y: s2.y }], ok],
    ['x a string', 'INVALID_X', [s1, { x: '2', y: s2.y }], ok],
    ['x missing', 'INVALID_X', [s1, { y: s2.y }], ok],
    ['y missing', 'INVALID_SHARE', [s1, { x: 2 }], ok],
    ['y a number[]', 'INVALID_SHARE', [s1, { x: 2, y: Array.from(s2.y) }], ok],
    [
      'y empty',
      'INVALID_SHARE',
      [
        { x: 1, y: new Uint8Array(0) },
        { x: 2, y: new Uint8Array(0) },
      ],
      ok,
    ],
    ['y too long', 'INVALID_SHARE', [s1, { x: 2, y: new Uint8Array(MAX_SECRET_BYTES + 1) }], ok],
    ['duplicate x', 'DUPLICATE_X', [s1, { x: s1.x, y: s2.y }], ok],
    ['y lengths differ', 'LENGTH_MISMATCH', [s1, { x: 2, y: s2.y.subarray(1) }], ok],
    [
      'verify rejects everything',
      'NO_VERIFIED_SUBSET',
      shares,
      { threshold: 2, verify: rejectAll },
    ],
    [
      'verify returns a truthy non-boolean',
      'NO_VERIFIED_SUBSET',
      shares,
      { threshold: 2, verify: () => 1 },
    ],
    [
      'verify is async',
      'NO_VERIFIED_SUBSET',
      shares,
      { threshold: 2, verify: () => Promise.resolve(true) },
    ],
    [
      'search bound reached',
      'TOO_MANY_CANDIDATES',
      shares,
      { threshold: 2, verify: rejectAll, maxCandidates: 5 },
    ],
  ];
  it.each(cases)('%s -> %s', (_what, code, input, options) => {
    expectCode(() => combine(input as Share[], options as CombineOptions), code);
  });

  it('error messages name counts and lengths, never share bytes', () => {
    const marked = [
      { x: 1, y: new Uint8Array(4).fill(0xab) },
      { x: 2, y: new Uint8Array(5).fill(0xab) },
    ];
    let message = '';
    try {
      combine(marked, { threshold: 2, verify: acceptAll });
    } catch (e) {
      expect(e).toMatchObject({ code: 'LENGTH_MISMATCH' });
      message = (e as ShamirError).message;
    }
    expect(message).toMatch(/expected 4 bytes.*got 5/);
    expect(message).not.toMatch(/171|ab/i);
  });
});

describe('combine never hands back an unverified secret', () => {
  it('with exactly t shares: one candidate, and NO_VERIFIED_SUBSET if verify rejects it', () => {
    const shares = split(SECRET, { threshold: 3, shares: 3 });
    let calls = 0;
    expectCode(
      () =>
        combine(shares, {
          threshold: 3,
          verify: () => {
            calls++;
            return false;
          },
        }),
      'NO_VERIFIED_SUBSET',
    );
    expect(calls).toBe(1);
  });

  it('wipes every rejected candidate, and returns the accepted one untouched', () => {
    const shares = split(SECRET, { threshold: 2, shares: 4 });
    const wrong = corrupt(at(shares, 0), Uint8Array.of(0x33));
    const seen: Uint8Array[] = [];
    const result = combine([wrong, ...shares.slice(1)], {
      threshold: 2,
      verify: (candidate) => {
        seen.push(candidate);
        return isSecret(SECRET)(candidate);
      },
    });
    // Subsets {wrong, 2}, {wrong, 3}, {wrong, 4} fail; {2, 3} verifies.
    expect(seen.length).toBe(4);
    for (const rejected of seen.slice(0, 3)) expect(rejected.every((b) => b === 0)).toBe(true);
    expect(result.secret).toBe(seen[3]);
    expect(result.secret).toEqual(SECRET);
    expect(result.used).toEqual([2, 3]);
    expect(result.disagreeing).toEqual([1]);
  });

  it('wipes the candidate and rethrows when verify throws', () => {
    const shares = split(SECRET, { threshold: 2, shares: 2 });
    let candidate: Uint8Array = new Uint8Array(0);
    const failure = new Error('commitment store unavailable');
    expect(() =>
      combine(shares, {
        threshold: 2,
        verify: (c) => {
          candidate = c;
          throw failure;
        },
      }),
    ).toThrow(failure);
    expect(candidate.length).toBe(SECRET.length);
    expect(candidate.every((b) => b === 0)).toBe(true);
  });

  it('tries t-subsets in lexicographic order of position, starting with the first t supplied', () => {
    const shares = split(SECRET, { threshold: 2, shares: 4 });
    const order = [at(shares, 3), at(shares, 1), at(shares, 0), at(shares, 2)];
    const candidates: Uint8Array[] = [];
    const result = combine(order, {
      threshold: 2,
      verify: (candidate) => {
        candidates.push(candidate.slice());
        return candidates.length === 4;
      },
    });
    // Positions {0, 1}, {0, 2}, {0, 3}, {1, 2}: the 4th holds order[1] and order[2], x = 2, 1.
    expect(result.used).toEqual([2, 1]);
    expect(candidates.length).toBe(4);
    expect(combine(order, { threshold: 2, verify: acceptAll }).used).toEqual([4, 2]);
    // All shares are good, so every candidate was the secret: verify alone decides.
    for (const c of candidates) expect(c).toEqual(SECRET);
  });

  it('counts subsets against maxCandidates exactly: C(5, 3) = 10 tried, then NO_VERIFIED_SUBSET', () => {
    const shares = split(SECRET, { threshold: 3, shares: 5 });
    const run = (maxCandidates: number): number => {
      let calls = 0;
      try {
        combine(shares, {
          threshold: 3,
          maxCandidates,
          verify: () => {
            calls++;
            return false;
          },
        });
      } catch (e) {
        expect(e).toMatchObject({
          code: maxCandidates >= 10 ? 'NO_VERIFIED_SUBSET' : 'TOO_MANY_CANDIDATES',
        });
      }
      return calls;
    };
    expect(run(10)).toBe(10);
    expect(run(10_000)).toBe(10);
    expect(run(9)).toBe(9);
    expect(run(1)).toBe(1);
  });

  it('does not modify the shares it is given', () => {
    const shares = split(SECRET, { threshold: 2, shares: 3 });
    const copies = shares.map((s) => ({ x: s.x, y: s.y.slice() }));
    combine(shares, { threshold: 2, verify: isSecret(SECRET) });
    expect(shares).toEqual(copies);
  });

  it('cancelling wrong shares inside the first subset still yield only the verified secret', () => {
    // Shares 1 and 2 are wrong by e1, e2 with l1(0) e1 = l2(0) e2 for subset {1, 2, 3}, so that
    // subset interpolates the true secret on a wrong polynomial. The secret is still the one
    // verify accepted; disagreeing then names the honest 4 and 5, as combine.ts documents.
    const secret = Uint8Array.of(0x42);
    const shares = split(secret, { threshold: 3, shares: 5 });
    // l1(0) = 2*3 / ((1^2)(1^3)) = 6 / (3*2) = 1 and l2(0) = 1*3 / ((2^1)(2^3)) = 3 / (3*1) = 1
    // in GF(2^8), so equal errors cancel.
    const wrong = [
      corrupt(at(shares, 0), Uint8Array.of(9)),
      corrupt(at(shares, 1), Uint8Array.of(9)),
    ];
    const result = combine([...wrong, ...shares.slice(2)], {
      threshold: 3,
      verify: isSecret(secret),
    });
    expect(result.secret).toEqual(secret);
    expect(result.used).toEqual([1, 2, 3]);
    expect(result.disagreeing).toEqual([4, 5]);
  });
});

describe('properties', () => {
  it('any t of n shares, in any order, reconstruct the secret (2 <= t <= n <= 20)', () => {
    const scheme = fc.integer({ min: 2, max: 20 }).chain((n) =>
      fc.integer({ min: 2, max: n }).chain((t) =>
        fc.record({
          n: fc.constant(n),
          t: fc.constant(t),
          picks: fc.shuffledSubarray(range(n), { minLength: t, maxLength: t }),
          secret: fc.uint8Array({ minLength: 1, maxLength: 64 }),
        }),
      ),
    );
    fc.assert(
      fc.property(scheme, ({ n, t, picks, secret }) => {
        const shares = split(secret, { threshold: t, shares: n });
        const chosen = picks.map((i) => at(shares, i));
        // verify accepts anything: the single t-subset alone must give the secret.
        const result = combine(chosen, { threshold: t, verify: acceptAll });
        expect(result.secret).toEqual(secret);
        expect(result.used).toEqual(chosen.map((s) => s.x));
        expect(result.disagreeing).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('a verify that rejects everything makes combine throw NO_VERIFIED_SUBSET after trying every subset, never return', () => {
    const scheme = fc.integer({ min: 2, max: 9 }).chain((m) =>
      fc.record({
        m: fc.constant(m),
        t: fc.integer({ min: 2, max: m }),
        secret: fc.uint8Array({ minLength: 1, maxLength: 32 }),
      }),
    );
    fc.assert(
      fc.property(scheme, ({ m, t, secret }) => {
        const shares = split(secret, { threshold: t, shares: m });
        const seen: Uint8Array[] = [];
        const verify = (candidate: Uint8Array): boolean => {
          seen.push(candidate);
          return false;
        };
        expectCode(() => combine(shares, { threshold: t, verify }), 'NO_VERIFIED_SUBSET');
        expect(seen.length).toBe(subsetsOf(range(m), t).length);
        for (const candidate of seen) expect(candidate.every((b) => b === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('with up to (count - t) wrong shares, combine returns the secret and names exactly the wrong x', () => {
    // Secrets of 16+ bytes and unbiased error bytes: wrong shares that cancel inside a subset
    // (see the test above) then have probability about 2^-128 and cannot mask the property.
    const scheme = fc.integer({ min: 3, max: 12 }).chain((m) =>
      fc.integer({ min: 2, max: m - 1 }).chain((t) =>
        fc.record({
          m: fc.constant(m),
          t: fc.constant(t),
          order: fc.shuffledSubarray(range(m), { minLength: m, maxLength: m }),
          wrong: fc.subarray(range(m), { minLength: 1, maxLength: m - t }),
          secret: fc.uint8Array({ minLength: 16, maxLength: 32 }),
          errors: fc.array(fc.noBias(fc.uint8Array({ minLength: 32, maxLength: 32 })), {
            minLength: m,
            maxLength: m,
          }),
        }),
      ),
    );
    fc.assert(
      fc.property(scheme, ({ m, t, order, wrong, secret, errors }) => {
        const shares = split(secret, { threshold: t, shares: m });
        const supplied = order.map((i) =>
          wrong.includes(i) ? corrupt(at(shares, i), at(errors, i)) : at(shares, i),
        );
        const result = combine(supplied, { threshold: t, verify: isSecret(secret) });
        expect(result.secret).toEqual(secret);
        expect([...result.disagreeing].sort((a, b) => a - b)).toEqual(wrong.map((i) => i + 1));
        expect(result.used.some((x) => wrong.includes(x - 1))).toBe(false);
        expect(result.used.length).toBe(t);
      }),
      { numRuns: 300 },
    );
  });
});
