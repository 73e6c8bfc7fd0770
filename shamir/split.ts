// Shamir secret sharing, split (Shamir 1979, "How to share a secret"), byte-wise over GF(2^8):
// for each secret byte s, a random polynomial f(X) = s + a_1 X + ... + a_{t-1} X^{t-1}; share i
// is (i, f(i)) for i = 1..n. Any t shares determine f and so s; t - 1 shares leave every s
// equally likely.

import { assertIntegerInRange, assertOptionsBag, describe, ownProperty } from './assert.ts';
import { ShamirError } from './errors.ts';
import { mul } from './gf256.ts';
import { MAX_SECRET_BYTES, MAX_SHARES, type Share } from './share.ts';

export interface SplitOptions {
  /** Shares needed to reconstruct, t: an integer in 2..shares. */
  readonly threshold: number;
  /** Shares to make, n: an integer in threshold..255. Share i gets x = i. */
  readonly shares: number;
  /**
   * Source of the polynomial coefficients: returns exactly `length` uniformly random bytes,
   * in a fresh array that split takes over and wipes. Default: crypto.getRandomValues, a CSPRNG
   * in Node and in browsers. Inject one only for tests or a vetted hardware source.
   */
  readonly random?: (length: number) => Uint8Array;
}

const SPLIT_OPTION_KEYS = ['threshold', 'shares', 'random'] as const;

/** crypto.getRandomValues fills at most this many bytes per call (Web Crypto quota). */
const GET_RANDOM_VALUES_MAX_BYTES = 65_536;

function cryptoRandom(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += GET_RANDOM_VALUES_MAX_BYTES) {
    globalThis.crypto.getRandomValues(out.subarray(offset, offset + GET_RANDOM_VALUES_MAX_BYTES));
  }
  return out;
}

/** Splits `secret` into `shares` shares at x = 1..shares, any `threshold` of which recover it. */
export function split(secret: Uint8Array, options: SplitOptions): Share[] {
  const bytes: unknown = secret;
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > MAX_SECRET_BYTES) {
    throw new ShamirError(
      'INVALID_SECRET',
      `split: secret: expected a Uint8Array of 1..${MAX_SECRET_BYTES} bytes, got ${describe(bytes)}`,
    );
  }
  const bag = assertOptionsBag(options, 'split: options', SPLIT_OPTION_KEYS);
  const threshold = assertIntegerInRange(
    ownProperty(bag, 'threshold'),
    'split: options.threshold',
    2,
    MAX_SHARES,
    'INVALID_THRESHOLD',
  );
  const count = assertIntegerInRange(
    ownProperty(bag, 'shares'),
    'split: options.shares',
    threshold,
    MAX_SHARES,
    'INVALID_SHARE_COUNT',
  );
  // Absent and undefined both mean the default CSPRNG (the secure choice either way); null is
  // not a function and is rejected like any other non-function.
  const given = ownProperty(bag, 'random');
  const hook = given === undefined ? cryptoRandom : given;
  if (typeof hook !== 'function') {
    throw new ShamirError(
      'INVALID_OPTIONS',
      `split: options.random: expected a function, got ${describe(hook)}`,
    );
  }

  // t - 1 coefficients per secret byte; coefficient k of byte i is at i * degree + (k - 1).
  const degree = threshold - 1;
  const needed = bytes.length * degree;
  const coefficients: unknown = (hook as (length: number) => unknown)(needed);
  try {
    if (!(coefficients instanceof Uint8Array) || coefficients.length !== needed) {
      throw new ShamirError(
        'INVALID_RANDOM_OUTPUT',
        `split: options.random(${needed}): expected a Uint8Array of ${needed} bytes, got ${describe(coefficients)}`,
      );
    }
    const ys = Array.from({ length: count }, () => new Uint8Array(bytes.length));
    ys.forEach((y, share) => {
      const x = share + 1;
      for (let i = 0; i < bytes.length; i++) {
        // Horner: f(x) = s + x (a_1 + x (a_2 + ... + x a_{t-1})).
        let acc = 0;
        for (let k = degree - 1; k >= 0; k--) {
          acc = mul(acc, x) ^ (coefficients[i * degree + k] ?? 0);
        }
        y[i] = mul(acc, x) ^ (bytes[i] ?? 0);
      }
    });
    return ys.map((y, share) => ({ x: share + 1, y }));
  } finally {
    if (coefficients instanceof Uint8Array) coefficients.fill(0);
  }
}
