// Explicit conversion to and from the share format of the audited npm package
// `shamir-secret-sharing` (same field, same polynomial): each share is one byte string y || x,
// the y bytes followed by one byte x. Nothing converts implicitly: in qkms a share's x is the
// index of the node it came from in the pinned node set, never a byte a peer sent, so
// fromSecretSharingFormat is for importing shares made by that package, not for wire input.

import { describe } from './assert.ts';
import { ShamirError } from './errors.ts';
import { assertShare, MAX_SECRET_BYTES, type Share } from './share.ts';

/** A share as y || x, the encoding `shamir-secret-sharing`'s combine() takes. */
export function toSecretSharingFormat(share: Share): Uint8Array {
  const { x, y } = assertShare(share, 'toSecretSharingFormat: share');
  const out = new Uint8Array(y.length + 1);
  out.set(y);
  out[y.length] = x;
  return out;
}

/** A share from y || x, the encoding `shamir-secret-sharing`'s split() returns. Copies y. */
export function fromSecretSharingFormat(bytes: Uint8Array): Share {
  const value: unknown = bytes;
  if (!(value instanceof Uint8Array) || value.length < 2 || value.length > MAX_SECRET_BYTES + 1) {
    throw new ShamirError(
      'INVALID_SHARE_ENCODING',
      `fromSecretSharingFormat: bytes: expected a Uint8Array of 2..${MAX_SECRET_BYTES + 1} bytes, got ${describe(value)}`,
    );
  }
  const x = value[value.length - 1] ?? 0;
  if (x === 0) {
    throw new ShamirError(
      'INVALID_X',
      'fromSecretSharingFormat: bytes: expected a last byte x in 1..255, got 0 (x = 0 is the secret itself)',
    );
  }
  return { x, y: value.slice(0, -1) };
}
