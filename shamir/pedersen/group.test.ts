// The group layer through the public entry: strict scalar and point decoding (non-canonical
// scalars, invalid encodings, the identity as a commitment), the second generator H pinned as a
// known answer, and random scalars that are canonical and fresh.
import { ristretto255 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import type { ShamirErrorCode } from '../errors.ts';
import {
  commitmentAt,
  dealPedersen,
  pedersenH,
  randomScalar,
  verifyShare,
  verifyShareAt,
} from './index.ts';

function expectCode(fn: () => unknown, code: ShamirErrorCode): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'ShamirError', code }));
}

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** n as 32 bytes little-endian (n < 2^256). */
function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

const ORDER = ristretto255.Point.Fn.ORDER;
const ONE = le32(1n);
const { shares, commitments } = dealPedersen(randomScalar(), 2, [1, 2, 3]);
const share = shares[0]!;

describe('H, the second Pedersen generator', () => {
  // Known answer, computed independently of noble with libsodium 1.0.18 (Python ctypes):
  // crypto_core_ristretto255_from_hash(SHA-512(b"qkms/v2/pedersen-h")), i.e. RFC 9496 §4.3.4
  // element derivation of the 64-byte digest.
  const H_HEX = '9a6893b35bfc9cd0ffacdd4778371d62f1c5f456231d30b92c0f7cd64b71500c';

  it('is the pinned known-answer encoding', () => {
    expect(hex(pedersenH())).toBe(H_HEX);
  });

  it('is deterministic: the same 32 bytes twice, as fresh copies', () => {
    const a = pedersenH();
    const b = pedersenH();
    expect(a).toEqual(b);
    a[0] = (a[0] ?? 0) ^ 1;
    expect(hex(pedersenH())).toBe(H_HEX);
  });

  it('is neither G nor the identity', () => {
    const h = ristretto255.Point.fromBytes(pedersenH());
    expect(h.equals(ristretto255.Point.BASE)).toBe(false);
    expect(h.is0()).toBe(false);
  });
});

describe('scalar decoding is canonical', () => {
  const cases: [string, Uint8Array][] = [
    ['ℓ itself', le32(ORDER)],
    ['ℓ + 1', le32(ORDER + 1n)],
    ['2^255 − 1', le32((1n << 255n) - 1n)],
    ['2^256 − 1', le32((1n << 256n) - 1n)],
  ];
  for (const [label, bytes] of cases) {
    it(`refuses ${label} as a share scalar (INVALID_SCALAR)`, () => {
      expectCode(() => verifyShare(commitments, { ...share, s: bytes }), 'INVALID_SCALAR');
      expectCode(() => verifyShare(commitments, { ...share, r: bytes }), 'INVALID_SCALAR');
    });
    it(`refuses ${label} as a secret or blinding (INVALID_SCALAR)`, () => {
      expectCode(() => dealPedersen(bytes, 1, [1]), 'INVALID_SCALAR');
      expectCode(() => dealPedersen(ONE, 1, [1], { blinding: bytes }), 'INVALID_SCALAR');
    });
  }

  it('accepts ℓ − 1, the largest canonical scalar', () => {
    const dealt = dealPedersen(le32(ORDER - 1n), 1, [1]);
    expect(dealt.shares[0]?.s).toEqual(le32(ORDER - 1n));
  });

  it('refuses a scalar of the wrong length or type (INVALID_SCALAR)', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), [...ONE], '00', undefined]) {
      expectCode(() => dealPedersen(bad as Uint8Array, 1, [1]), 'INVALID_SCALAR');
    }
  });
});

describe('point decoding is strict', () => {
  const c0 = commitments[0]!;
  const invalid: [string, Uint8Array][] = [
    ['all 0xff (non-canonical field element)', new Uint8Array(32).fill(0xff)],
    ['an odd (negative) s', le32(1n)],
    ['a non-square', le32(2n)],
  ];
  for (const [label, bytes] of invalid) {
    it(`refuses ${label} as a commitment (INVALID_POINT)`, () => {
      expectCode(() => verifyShare([bytes, commitments[1]!], share), 'INVALID_POINT');
      expectCode(() => commitmentAt([c0, bytes], 1), 'INVALID_POINT');
      expectCode(() => verifyShareAt(bytes, share), 'INVALID_POINT');
    });
  }

  it('refuses the identity where a commitment is expected (INVALID_POINT)', () => {
    const identity = new Uint8Array(32);
    expect(ristretto255.Point.fromBytes(identity).is0()).toBe(true);
    expectCode(() => verifyShare([c0, identity], share), 'INVALID_POINT');
    expectCode(() => commitmentAt([identity], 1), 'INVALID_POINT');
    expectCode(() => verifyShareAt(identity, share), 'INVALID_POINT');
  });

  it('refuses points of the wrong length or type (INVALID_POINT)', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), [...c0], null]) {
      expectCode(() => verifyShareAt(bad as Uint8Array, share), 'INVALID_POINT');
    }
  });
});

describe('randomScalar', () => {
  it('returns canonical 32-byte scalars, a fresh one per call', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const k = randomScalar();
      expect(k.length).toBe(32);
      expect(() => dealPedersen(k, 1, [1])).not.toThrow();
      seen.add(hex(k));
    }
    expect(seen.size).toBe(64);
  });
});
