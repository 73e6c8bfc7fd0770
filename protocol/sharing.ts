// The v2 sharing of a content key (decision 0016): Shamir over ristretto255's
// scalar field with Pedersen commitments (shamir/pedersen/), and the CEK
// wrapped under the shared key scalar s:
//   wrappedCek = CEK XOR HKDF-SHA256(ikm = s, salt = contentId, info = tag(CEK_WRAP), 32)
// A share on the wire and at rest is 64 bytes: f(x) || g(x), each a 32-byte
// little-endian scalar; its x is the node's index in the node set, never a
// value that travels with it.
import {
  combinePedersen,
  commitmentAt,
  dealPedersen,
  randomScalar,
  verifyShareAt,
  type PedersenShare,
} from '../shamir/index.ts';
import { abytes } from './assert.ts';
import { wipe } from './bytes.ts';
import { CEK_BYTES, ID_BYTES } from './constants.ts';
import { DomainTag, tagBytes } from './domain-tags.ts';
import type { CryptoSuite } from './suite/types.ts';

/** A scalar: 32 bytes little-endian, below the group order. */
export const SCALAR_BYTES = 32;
/** A share as sealed and stored: f(x) || g(x). */
export const SHARE_BYTES = 2 * SCALAR_BYTES;

/** The one-time pad that wraps the CEK, from the key scalar s and the content id. */
function cekPad(suite: CryptoSuite, keyScalar: Uint8Array, contentId: Uint8Array): Uint8Array {
  abytes(keyScalar, 'keyScalar', SCALAR_BYTES);
  abytes(contentId, 'contentId', ID_BYTES);
  return suite.hkdfSha256(keyScalar, contentId, tagBytes(DomainTag.CEK_WRAP), CEK_BYTES);
}

function xorInto(out: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** wrappedCek for `cek` under the key scalar (the manifest carries it). */
export function wrapCek(
  suite: CryptoSuite,
  keyScalar: Uint8Array,
  contentId: Uint8Array,
  cek: Uint8Array,
): Uint8Array {
  abytes(cek, 'cek', CEK_BYTES);
  const pad = cekPad(suite, keyScalar, contentId);
  try {
    return xorInto(new Uint8Array(CEK_BYTES), cek, pad);
  } finally {
    wipe(pad);
  }
}

/** The CEK from the reconstructed key scalar: the caller checks it against the CEK commitment and wipes it. */
export function unwrapCek(
  suite: CryptoSuite,
  keyScalar: Uint8Array,
  contentId: Uint8Array,
  wrappedCek: Uint8Array,
): Uint8Array {
  return wrapCek(suite, keyScalar, contentId, wrappedCek);
}

/** A share's 64 bytes. */
export function shareToBytes(share: PedersenShare): Uint8Array {
  const out = new Uint8Array(SHARE_BYTES);
  out.set(share.s, 0);
  out.set(share.r, SCALAR_BYTES);
  return out;
}

/** Node `x`'s share from its 64 bytes (copies: the caller wipes both). */
export function shareFromBytes(x: number, bytes: Uint8Array): PedersenShare {
  abytes(bytes, 'share', SHARE_BYTES);
  return { x, s: bytes.slice(0, SCALAR_BYTES), r: bytes.slice(SCALAR_BYTES) };
}

/** Commitment points per node, computed once per commitment vector (t - 1 scalar multiplications each). */
const points = new WeakMap<readonly Uint8Array[], Map<number, Uint8Array>>();

/**
 * Does `bytes` (64) verify as node `index`'s share against `commitments`? False for a wrong
 * length, a non-canonical scalar, invalid commitments or a share off the committed polynomial;
 * never throws on them.
 */
export function checkShareBytes(
  commitments: readonly Uint8Array[],
  index: number,
  bytes: Uint8Array,
): boolean {
  if (bytes.length !== SHARE_BYTES) return false;
  let cache = points.get(commitments);
  if (cache === undefined) {
    cache = new Map();
    points.set(commitments, cache);
  }
  let point = cache.get(index);
  if (point === undefined) {
    // Commitments that are not valid points (a signed but malformed manifest) verify nothing.
    try {
      point = commitmentAt(commitments, index);
    } catch {
      return false;
    }
    cache.set(index, point);
  }
  const share = shareFromBytes(index, bytes);
  try {
    return verifyShareAt(point, share);
  } catch {
    return false;
  } finally {
    wipe(share.s);
    wipe(share.r);
  }
}

/** A fresh sharing of a new key scalar for nodes 1..n: shares in node order and the commitments. */
export function dealKey(
  threshold: number,
  n: number,
  /** Random bytes; tests and vectors inject a fixed source. */
  random?: (length: number) => Uint8Array,
): { keyScalar: Uint8Array; shares: Uint8Array[]; commitments: Uint8Array[] } {
  const keyScalar = randomScalar(random);
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  const dealt = dealPedersen(keyScalar, threshold, xs, random === undefined ? {} : { random });
  const shares = dealt.shares.map((s) => {
    const bytes = shareToBytes(s);
    wipe(s.s);
    wipe(s.r);
    return bytes;
  });
  return { keyScalar, shares, commitments: dealt.commitments };
}

/**
 * The key scalar s from the first `threshold` of `shares` (64 bytes each, by node index), if
 * `verify` accepts it; ShamirError NO_VERIFIED_SUBSET otherwise (nothing handed back).
 */
export function combineKey(
  shares: readonly { readonly x: number; readonly bytes: Uint8Array }[],
  threshold: number,
  verify: (keyScalar: Uint8Array) => boolean,
): Uint8Array {
  const parsed = shares.slice(0, threshold).map((s) => shareFromBytes(s.x, s.bytes));
  try {
    const { s, r } = combinePedersen(parsed, threshold, verify);
    wipe(r);
    return s;
  } finally {
    for (const p of parsed) {
      wipe(p.s);
      wipe(p.r);
    }
  }
}
