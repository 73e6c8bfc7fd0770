// assertOptionsBag, the repository's one option-bag asserter: it returns the
// bag, refuses a non-object and every key it was not told about (a symbol, a
// non-enumerable key, a misspelling), names the parameter and the key, never a
// value, and throws the caller's error when given a factory.
import { describe, expect, it } from 'vitest';
import { assertOptionsBag } from './index.ts';

const ALLOWED = ['threshold', 'shares'] as const;

class CallerError extends Error {
  readonly code = 'INVALID_ARGUMENT';
}

describe('assertOptionsBag', () => {
  it('returns the bag itself when every own key is allowed (or the bag is empty)', () => {
    const bag = { threshold: 2, shares: 3 };
    expect(assertOptionsBag(bag, 'split: options', ALLOWED)).toBe(bag);
    expect(assertOptionsBag({}, 'split: options', ALLOWED)).toEqual({});
  });

  it.each([
    ['null', null, /^opts: expected an options object, got null$/],
    ['an array', [1], /^opts: expected an options object, got array of 1$/],
    ['a number', 2, /^opts: expected an options object, got 2$/],
    ['a string', 'x', /^opts: expected an options object, got string$/],
    [
      'a misspelt key',
      { treshold: 2 },
      /^opts: unknown option "treshold", expected only threshold, shares$/,
    ],
    ['a symbol key', { [Symbol('x')]: 1 }, /^opts: unknown option symbol/],
    [
      'a non-enumerable key',
      Object.defineProperty({}, 'random', { value: () => 0, enumerable: false }),
      /^opts: unknown option "random"/,
    ],
  ])('refuses %s with ShamirError INVALID_OPTIONS by default', (_name, value, message) => {
    expect(() => assertOptionsBag(value, 'opts', ALLOWED)).toThrow(
      expect.objectContaining({
        name: 'ShamirError',
        code: 'INVALID_OPTIONS',
        message: expect.stringMatching(message),
      }),
    );
  });

  it("throws the caller's error, with the same message, when given a factory", () => {
    const fail = (message: string): CallerError => new CallerError(message);
    expect(() => assertOptionsBag({ logN: 10 }, 'initKeystore', ['suite'], fail)).toThrow(
      new CallerError('initKeystore: unknown option "logN", expected only suite'),
    );
    expect(() => assertOptionsBag(undefined, 'initKeystore', ['suite'], fail)).toThrow(CallerError);
  });

  it('never quotes a value, only the key', () => {
    const secret = 'correct horse battery staple';
    expect(() => assertOptionsBag({ passhprase: secret }, 'loadKeystore', ['passphrase'])).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secret) }),
    );
  });
});
