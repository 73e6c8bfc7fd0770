// The ristretto255 group (RFC 9496) as Pedersen VSS uses it: strict scalar and point codecs,
// uniform random scalars, and the second generator H. Arithmetic is @noble/curves'; nothing here
// is a hand-written primitive (the 64-byte little-endian read in randomScalar is an encoding).
//
// Scalars are integers mod ℓ = 2^252 + 27742317777372353535851937790883648493, encoded as 32 bytes
// little-endian and canonical (< ℓ). Points are 32-byte ristretto255 encodings. H is
// ristretto255 element derivation (RFC 9496 §4.3.4, noble's deriveToCurve; libsodium's
// crypto_core_ristretto255_from_hash) of SHA-512 over the ASCII tag `qkms/v2/pedersen-h`, so
// nobody knows log_G(H). The tag lives here, not in protocol/domain-tags.ts, because shamir/
// sits below protocol/ and may not import it.

import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe } from '../assert.ts';
import { ShamirError } from '../errors.ts';

export type Point = InstanceType<typeof ristretto255.Point>;

const { Point: RistrettoPoint } = ristretto255;
/** The scalar field of ristretto255, mod ℓ. */
export const Fn = RistrettoPoint.Fn;

/** Bytes of an encoded scalar (little-endian, < ℓ). */
export const PEDERSEN_SCALAR_BYTES = 32;
/** Bytes of an encoded ristretto255 point. */
export const PEDERSEN_POINT_BYTES = 32;
/** Random bytes reduced mod ℓ for one scalar: 512 bits leave a bias below 2^-259. */
const RANDOM_SCALAR_BYTES = 64;
/** Domain tag hashed (SHA-512) and mapped to the group to make H. */
export const PEDERSEN_H_TAG = 'qkms/v2/pedersen-h';
/** wNAF window for H's precomputed table: H is multiplied by a secret in every commit/verify. */
const H_WINDOW_BITS = 8;

export const G: Point = RistrettoPoint.BASE;
export const IDENTITY: Point = RistrettoPoint.ZERO;

let cachedH: Point | undefined;

/** H, derived on first use and cached with a precomputed multiplication table. */
export function generatorH(): Point {
  if (cachedH === undefined) {
    const digest = sha512(new TextEncoder().encode(PEDERSEN_H_TAG));
    try {
      cachedH = ristretto255_hasher.deriveToCurve?.(digest);
    } finally {
      digest.fill(0);
    }
    if (cachedH === undefined) throw new Error('ristretto255: deriveToCurve is missing');
    cachedH.precompute(H_WINDOW_BITS);
  }
  return cachedH;
}

/** The 32-byte encoding of H (a fresh copy). */
export function pedersenH(): Uint8Array {
  return generatorH().toBytes();
}

/** k·P for a secret k, in constant time (noble's multiply refuses 0, which maps to the identity). */
export function mulSecret(p: Point, k: bigint): Point {
  return k === 0n ? IDENTITY : p.multiply(k);
}

/** s·G + r·H for secret s and r. */
export function commit(s: bigint, r: bigint): Point {
  return mulSecret(G, s).add(mulSecret(generatorH(), r));
}

/** A canonical 32-byte scalar, or ShamirError INVALID_SCALAR naming `name`. */
export function decodeScalar(value: unknown, name: string): bigint {
  if (!(value instanceof Uint8Array) || value.length !== PEDERSEN_SCALAR_BYTES) {
    throw new ShamirError(
      'INVALID_SCALAR',
      `${name}: expected a Uint8Array of ${PEDERSEN_SCALAR_BYTES} bytes, got ${describe(value)}`,
    );
  }
  try {
    return Fn.fromBytes(value);
  } catch {
    throw new ShamirError(
      'INVALID_SCALAR',
      `${name}: expected a canonical scalar (little-endian, below the group order)`,
    );
  }
}

export function encodeScalar(k: bigint): Uint8Array {
  return Fn.toBytes(k);
}

/**
 * Points decoded lately, by their encoding: decoding costs a square root (~40 µs), and the same
 * commitments are decoded again and again (each sub-share check, each new commitment vector of a
 * redistribution). Commitments are public; points are immutable. Cleared whole when full.
 */
const DECODED_POINTS = 4096;
const decoded = new Map<string, Point>();

function hexOf(bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * A valid ristretto255 point, or ShamirError INVALID_POINT. A commitment (`commitment` true) is
 * also refused when it is the identity: no honest dealer produces one but with negligible odds.
 */
export function decodePoint(value: unknown, name: string, commitment: boolean): Point {
  if (!(value instanceof Uint8Array) || value.length !== PEDERSEN_POINT_BYTES) {
    throw new ShamirError(
      'INVALID_POINT',
      `${name}: expected a Uint8Array of ${PEDERSEN_POINT_BYTES} bytes, got ${describe(value)}`,
    );
  }
  const key = hexOf(value);
  let point = decoded.get(key);
  if (point === undefined) {
    try {
      point = RistrettoPoint.fromBytes(value);
    } catch {
      throw new ShamirError('INVALID_POINT', `${name}: expected a ristretto255 encoding`);
    }
    if (decoded.size >= DECODED_POINTS) decoded.clear();
    decoded.set(key, point);
  }
  if (commitment && point.is0()) {
    throw new ShamirError('INVALID_POINT', `${name}: expected a commitment, got the identity`);
  }
  return point;
}

/** A source of random bytes: crypto.getRandomValues unless a test injects a deterministic one. */
export type RandomSource = (length: number) => Uint8Array;

const systemRandom: RandomSource = (length) =>
  globalThis.crypto.getRandomValues(new Uint8Array(length));

/** A uniform scalar mod ℓ as a bigint: 64 bytes from `random` (crypto.getRandomValues), reduced. */
export function randomScalarValue(random: RandomSource = systemRandom): bigint {
  const bytes = new Uint8Array(RANDOM_SCALAR_BYTES);
  try {
    const drawn = random(RANDOM_SCALAR_BYTES);
    if (!(drawn instanceof Uint8Array) || drawn.length !== RANDOM_SCALAR_BYTES)
      throw new ShamirError('INVALID_OPTIONS', `random: expected ${RANDOM_SCALAR_BYTES} bytes`);
    bytes.set(drawn);
    drawn.fill(0);
    let n = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
    return Fn.create(n);
  } finally {
    bytes.fill(0);
  }
}

/** A uniform random scalar mod ℓ, encoded (32 bytes, little-endian, canonical). */
export function randomScalar(random?: RandomSource): Uint8Array {
  return encodeScalar(randomScalarValue(random));
}
