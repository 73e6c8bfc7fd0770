// A Shamir share (x, y) over GF(2^8), the limits that bound it, and its asserter.
// x is the public evaluation point (in qkms, the node's index in the node set); y holds one
// byte of the share per byte of the secret.

import { assertIntegerInRange, describe, ownProperty } from './assert.ts';
import { ShamirError } from './errors.ts';

export interface Share {
  /** The evaluation point, 1..255. Never 0: the polynomial's value at 0 is the secret. */
  readonly x: number;
  /** The polynomials' values at x, one byte per secret byte. */
  readonly y: Uint8Array;
}

/** Shares per secret, at most: x ranges over the 255 nonzero bytes of GF(2^8). */
export const MAX_SHARES = 255;

/**
 * Secret length cap, in bytes. qkms shares 32-byte content keys; a bigger secret should be
 * encrypted under such a key and the key shared. The cap bounds the memory and the work
 * (about n · t · length field multiplications to split, t · length per combine candidate) that
 * one call can be made to spend, and keeps a share within one protocol frame.
 */
export const MAX_SECRET_BYTES = 65_536;

/** A share's x: an integer in 1..255. */
export function assertX(value: unknown, name: string): number {
  return assertIntegerInRange(value, name, 1, MAX_SHARES, 'INVALID_X');
}

/**
 * A share: a plain { x, y } record with own properties, x in 1..255 and y of 1..MAX_SECRET_BYTES
 * bytes. Returns a snapshot, so a getter cannot answer differently on a later read.
 */
export function assertShare(value: unknown, name: string): Share {
  // A byte string (say a y || x encoding) is not a share: convert it explicitly (interop.ts).
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    ArrayBuffer.isView(value)
  ) {
    throw new ShamirError(
      'INVALID_SHARE',
      `${name}: expected a { x, y } share, got ${describe(value)}`,
    );
  }
  const x = assertX(ownProperty(value, 'x'), `${name}.x`);
  const y = ownProperty(value, 'y');
  if (!(y instanceof Uint8Array) || y.length < 1 || y.length > MAX_SECRET_BYTES) {
    throw new ShamirError(
      'INVALID_SHARE',
      `${name}.y: expected a Uint8Array of 1..${MAX_SECRET_BYTES} bytes, got ${describe(y)}`,
    );
  }
  return { x, y };
}
