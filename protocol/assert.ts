// Input asserters in the noble style: each returns the value it checked and
// names the parameter, and its error states expected vs received type or
// length, never the content.
import { ErrorCode, QkmsError } from './errors.ts';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  return typeof value;
}

/** Asserts a Uint8Array, optionally of one of the given lengths. */
export function abytes(value: unknown, name: string, ...lengths: number[]): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `${name}: expected Uint8Array, got ${describe(value)}`,
    );
  }
  if (lengths.length > 0 && !lengths.includes(value.length)) {
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `${name}: expected ${lengths.join(' or ')} bytes, got ${value.length}`,
    );
  }
  return value;
}

/** Asserts an integer in [min, max]. */
export function aint(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `${name}: expected integer in [${min}, ${max}], got ${typeof value === 'number' ? String(value) : describe(value)}`,
    );
  }
  return value;
}
