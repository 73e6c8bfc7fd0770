// Input asserters for shamir/'s public boundary. They take `unknown` (a JavaScript caller can
// pass anything), return the checked value, name the parameter, and say what they expected and
// what type, length or count they got, never the bytes.

import { ShamirError, type ShamirErrorCode } from './errors.ts';

/** What a value is, for an error message: a type, a length, or a (public) number. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (value instanceof Uint8Array) return `Uint8Array of ${value.length} bytes`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

/**
 * An own property of obj, or undefined. Never reads the prototype chain, so a polluted
 * Object.prototype cannot slip a value (a `random` hook, say) into an options bag or a share.
 */
export function ownProperty(obj: object, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Builds the error an asserter throws, so each layer keeps its own error class and code. */
export type AssertionFailure = (message: string) => Error;

function invalidOptions(message: string): ShamirError {
  return new ShamirError('INVALID_OPTIONS', message);
}

/**
 * A security-relevant options bag: a plain object whose own keys (symbols and non-enumerable
 * ones included) are all in `allowed`. An unknown key is rejected rather than ignored: a
 * misspelt `treshold` must not silently fall back to a default. This is the one option-bag
 * asserter of the repository (protocol/, node/ and client/ use it through shamir/index.ts);
 * `fail` builds the caller's error (default: ShamirError INVALID_OPTIONS), whose message names
 * the parameter, says what was expected, and quotes the unknown key (a key name, never a value).
 */
export function assertOptionsBag(
  value: unknown,
  name: string,
  allowed: readonly string[],
  fail: AssertionFailure = invalidOptions,
): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail(`${name}: expected an options object, got ${describe(value)}`);
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string' || !allowed.includes(key)) {
      throw fail(
        `${name}: unknown option ${typeof key === 'string' ? JSON.stringify(key) : 'symbol'}, expected only ${allowed.join(', ')}`,
      );
    }
  }
  return value;
}

/** An integer in min..max inclusive, or a ShamirError with `code`. */
export function assertIntegerInRange(
  value: unknown,
  name: string,
  min: number,
  max: number,
  code: ShamirErrorCode,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ShamirError(
      code,
      `${name}: expected an integer in ${min}..${max}, got ${describe(value)}`,
    );
  }
  return value;
}
