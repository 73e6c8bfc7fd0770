// A Pedersen share (x, f(x), g(x)) and the asserters of pedersen/'s public boundary: thresholds,
// node xs, shares and commitment vectors. Like ../assert.ts they take `unknown`, name the
// parameter, and say what they expected and the type, length or count they got, never bytes.

import { assertIntegerInRange, describe, ownProperty } from '../assert.ts';
import { ShamirError } from '../errors.ts';
import { assertX } from '../share.ts';
import { decodePoint, decodeScalar, type Point } from './group.ts';

export interface PedersenShare {
  /** The node's evaluation point, 1..255. */
  readonly x: number;
  /** f(x): the share of the secret, a 32-byte scalar. */
  readonly s: Uint8Array;
  /** g(x): the share of the blinding, a 32-byte scalar. Secret as much as s. */
  readonly r: Uint8Array;
}

/** A share decoded for arithmetic. */
export interface ShareValue {
  readonly x: number;
  readonly s: bigint;
  readonly r: bigint;
}

/** Nodes and threshold at most: x ranges over 1..255, as in the GF(2^8) scheme. */
export const MAX_PEDERSEN_NODES = 255;

/** A threshold in 1..255 (t = 1 gives every node the secret itself). */
export function assertThreshold(value: unknown, name: string): number {
  return assertIntegerInRange(value, name, 1, MAX_PEDERSEN_NODES, 'INVALID_THRESHOLD');
}

/** Throws DUPLICATE_X naming the first repeated x. */
export function assertDistinct(xs: readonly number[], name: string): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (seen.has(x)) throw new ShamirError('DUPLICATE_X', `${name}: x = ${x} appears twice`);
    seen.add(x);
  }
}

/** Distinct node xs in 1..255, at least `min` of them; returns a snapshot. */
export function assertXs(value: unknown, name: string, min: number): number[] {
  if (!Array.isArray(value) || value.length < min || value.length > MAX_PEDERSEN_NODES) {
    throw new ShamirError(
      'INVALID_SHARE_COUNT',
      `${name}: expected an array of ${min}..${MAX_PEDERSEN_NODES} node xs, got ${describe(value)}`,
    );
  }
  const xs = (value as unknown[]).map((x, i) => assertX(x, `${name}[${i}]`));
  assertDistinct(xs, name);
  return xs;
}

/** A plain record (not an array or byte view), or ShamirError `code`. */
export function assertRecord(
  value: unknown,
  name: string,
  shape: string,
  code: 'INVALID_SHARE' | 'INVALID_DEALING',
): object {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    ArrayBuffer.isView(value)
  ) {
    throw new ShamirError(code, `${name}: expected a ${shape} record, got ${describe(value)}`);
  }
  return value;
}

/** A { x, s, r } share with x in 1..255 and canonical scalars s and r. */
export function decodeShare(value: unknown, name: string): ShareValue {
  const record = assertRecord(value, name, '{ x, s, r }', 'INVALID_SHARE');
  return {
    x: assertX(ownProperty(record, 'x'), `${name}.x`),
    s: decodeScalar(ownProperty(record, 's'), `${name}.s`),
    r: decodeScalar(ownProperty(record, 'r'), `${name}.r`),
  };
}

/**
 * A commitment vector C_0..C_{t-1}: 1..255 valid, non-identity points; exactly `expected` of them
 * when the caller knows the threshold (a longer vector would be a higher-degree sharing).
 */
export function decodeCommitments(value: unknown, name: string, expected?: number): Point[] {
  const min = expected ?? 1;
  const max = expected ?? MAX_PEDERSEN_NODES;
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    throw new ShamirError(
      'INVALID_COMMITMENTS',
      `${name}: expected an array of ${min === max ? String(min) : `${min}..${max}`} commitments, got ${describe(value)}`,
    );
  }
  return (value as unknown[]).map((c, k) => decodePoint(c, `${name}[${k}]`, true));
}

/** A list of 1..max entries, as a snapshot array; INVALID_SHARE_COUNT otherwise. */
export function assertList(value: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > max) {
    throw new ShamirError(
      'INVALID_SHARE_COUNT',
      `${name}: expected an array of 1..${max} entries, got ${describe(value)}`,
    );
  }
  return [...(value as unknown[])];
}
