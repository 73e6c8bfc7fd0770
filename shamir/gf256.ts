// Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b),
// as in FIPS 197 §4.2: the field Shamir secret sharing over bytes works in, and the one the
// audited `shamir-secret-sharing` package (whose share format we interoperate with) uses.
//
// Written by hand, on purpose. The audited libraries (shamir-secret-sharing, HashiCorp Vault's
// shamir, privy's shamir) multiply through log/exp tables indexed by secret bytes, so which
// cache line is touched depends on the secret: a cache-timing channel. Here no table exists and
// no branch, early exit or memory address depends on an operand: `mul` is a fixed 8-round
// shift-and-add driven by masks, `inv` is a^254 by a fixed square-and-multiply chain. (A
// JavaScript engine promises nothing about the machine code it emits; this is as far as the
// source can go.)
//
// Operands are bytes (integers 0..255). The functions do not check that: they are the hot path,
// and their callers pass Uint8Array elements or validated public x-coordinates.

/** a + b (and a - b: in characteristic 2 they are the same), i.e. XOR. */
export function add(a: number, b: number): number {
  return a ^ b;
}

/** a · b, reduced modulo 0x11b. Constant-time: 8 rounds whatever the operands. */
export function mul(a: number, b: number): number {
  let product = 0;
  let multiplicand = a;
  let multiplier = b;
  for (let round = 0; round < 8; round++) {
    // Add the multiplicand when the multiplier's low bit is 1: the mask is 0 or all ones.
    product ^= -(multiplier & 1) & multiplicand;
    multiplier >>>= 1;
    // multiplicand · x: shift, and reduce by 0x11b exactly when bit 7 was set (mask again).
    multiplicand = (multiplicand << 1) ^ (-(multiplicand >>> 7) & 0x11b);
  }
  return product;
}

/**
 * a^-1, computed as a^254 (the multiplicative group has order 255, so a^255 = 1).
 * By this convention inv(0) = 0, which the same chain yields without a branch.
 */
export function inv(a: number): number {
  const a2 = mul(a, a);
  const a3 = mul(a2, a);
  const a6 = mul(a3, a3);
  const a7 = mul(a6, a);
  const a14 = mul(a7, a7);
  const a15 = mul(a14, a);
  const a30 = mul(a15, a15);
  const a31 = mul(a30, a);
  const a62 = mul(a31, a31);
  const a63 = mul(a62, a);
  const a126 = mul(a63, a63);
  const a127 = mul(a126, a);
  return mul(a127, a127);
}

/** a / b = a · b^-1. Follows inv's convention: div(a, 0) = 0; callers never divide by 0. */
export function div(a: number, b: number): number {
  return mul(a, inv(b));
}
