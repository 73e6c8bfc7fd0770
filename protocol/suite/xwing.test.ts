// X-Wing on both backends: the draft's known-answer vectors, and byte
// compatibility with each other and with @noble/post-quantum's ml_kem768_x25519.
import { describe, expect, it } from 'vitest';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { loadSharedVectors } from '../../test/support/shared-vectors.ts';
import { fromHex, toHex } from '../bytes.ts';
import { ErrorCode } from '../errors.ts';
import { createNativeSuite, requireNativeSuite } from './native.ts';
import { nobleSuite } from './noble.ts';

interface XWingVector {
  seed: string;
  sk: string;
  pk: string;
  eseed: string;
  ct: string;
  ss: string;
}

const native = requireNativeSuite();
const nativeDer = createNativeSuite({ rawPublicImport: false });
if (nativeDer === undefined) throw new Error('native suite unavailable');
const backends = [native, nobleSuite];
const vectors = loadSharedVectors<XWingVector[]>('xwing/test-vectors.json');

describe.skipIf(vectors.data === undefined)(`X-Wing draft vectors ${vectors.missing ?? ''}`, () => {
  const data = vectors.data ?? [];

  it('has vectors to check', () => {
    expect(data.length).toBeGreaterThan(0);
  });

  for (const suite of backends) {
    it(`${suite.name}: keygen from seed gives the vector public key`, () => {
      for (const v of data) expect(toHex(suite.xwing.keygen(fromHex(v.seed)).publicKey)).toBe(v.pk);
    });

    it(`${suite.name}: decapsulate gives the vector shared secret`, () => {
      for (const v of data) {
        expect(toHex(suite.xwing.decapsulate(fromHex(v.ct), fromHex(v.sk)))).toBe(v.ss);
        expect(toHex(suite.xwing.decapsulator(fromHex(v.sk)).decapsulate(fromHex(v.ct)))).toBe(
          v.ss,
        );
      }
    });
  }

  // node:crypto's ML-KEM takes no caller randomness, so the deterministic
  // encapsulation vectors can only be checked on noble; native encapsulation
  // is checked by crossing below.
  it('noble: deterministic encapsulation gives the vector ciphertext and secret', () => {
    for (const v of data) {
      const { cipherText, sharedSecret } = nobleSuite.xwing.encapsulateDerand(
        fromHex(v.pk),
        fromHex(v.eseed),
      );
      expect(toHex(cipherText)).toBe(v.ct);
      expect(toHex(sharedSecret)).toBe(v.ss);
    }
  });
});

describe('X-Wing native <-> noble', () => {
  it('keygen from random seeds agrees with each other and with @noble/post-quantum', () => {
    for (let i = 0; i < 20; i++) {
      const seed = native.randomBytes(32);
      const pk = native.xwing.keygen(seed).publicKey;
      expect(toHex(nobleSuite.xwing.keygen(seed).publicKey)).toBe(toHex(pk));
      expect(toHex(ml_kem768_x25519.getPublicKey(seed))).toBe(toHex(pk));
      expect(toHex(native.xwing.getPublicKey(seed))).toBe(toHex(pk));
    }
  });

  for (const [from, to] of [
    [native, nobleSuite],
    [nobleSuite, native],
  ] as const) {
    it(`${from.name} encapsulates, ${to.name} decapsulates the same secret`, () => {
      for (let i = 0; i < 20; i++) {
        const { publicKey, secretKey } = to.xwing.keygen();
        const { cipherText, sharedSecret } = from.xwing.encapsulate(publicKey);
        expect(cipherText.length).toBe(1120);
        expect(toHex(to.xwing.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
      }
    });
  }

  it('native imports public keys the same through raw bytes and through SPKI DER', () => {
    const { publicKey, secretKey } = nobleSuite.xwing.keygen();
    for (const suite of [native, nativeDer]) {
      const { cipherText, sharedSecret } = suite.xwing.encapsulate(publicKey);
      expect(toHex(nobleSuite.xwing.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
      expect(toHex(suite.xwing.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
    }
    const ed = nobleSuite.ed25519.keygen();
    const ml = nobleSuite.mldsa65.keygen();
    const msg = new Uint8Array([1, 2, 3]);
    const edSig = nobleSuite.ed25519.sign(msg, ed.secretKey);
    const mlSig = nobleSuite.mldsa65.sign(msg, ml.secretKey);
    expect(nativeDer.ed25519.verify(edSig, msg, ed.publicKey)).toBe(true);
    expect(nativeDer.mldsa65.verify(mlSig, msg, ml.publicKey)).toBe(true);
  });

  it('native keeps X25519 and Ed25519 keys with the same bytes apart in its key cache', () => {
    const ed = native.ed25519.keygen();
    const msg = new Uint8Array([9]);
    const sig = native.ed25519.sign(msg, ed.secretKey);
    expect(native.ed25519.verify(sig, msg, ed.publicKey)).toBe(true);
    // The same 32 bytes used as an X25519 public key inside an X-Wing key.
    const xw = native.xwing.keygen().publicKey.slice();
    xw.set(ed.publicKey, 1184);
    try {
      native.xwing.encapsulate(xw);
    } catch {
      // a non-canonical or low-order point may be refused; what matters is the cache below
    }
    expect(native.ed25519.verify(sig, msg, ed.publicKey)).toBe(true);
  });

  it('native encapsulation decapsulates in @noble/post-quantum', () => {
    const { publicKey, secretKey } = ml_kem768_x25519.keygen();
    const { cipherText, sharedSecret } = native.xwing.encapsulate(publicKey);
    expect(toHex(ml_kem768_x25519.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
  });

  for (const suite of backends) {
    it(`${suite.name}: a tampered ciphertext yields a different secret (implicit rejection), never the real one`, () => {
      const { publicKey, secretKey } = suite.xwing.keygen();
      const { cipherText, sharedSecret } = suite.xwing.encapsulate(publicKey);
      for (const at of [0, 500, 1087]) {
        const bad = cipherText.slice();
        bad[at] = (bad[at] ?? 0) ^ 1;
        expect(toHex(suite.xwing.decapsulate(bad, secretKey))).not.toBe(toHex(sharedSecret));
      }
    });

    it(`${suite.name}: wrong lengths are typed errors`, () => {
      const { publicKey, secretKey } = suite.xwing.keygen();
      expect(() => suite.xwing.keygen(new Uint8Array(31))).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
      expect(() => suite.xwing.encapsulate(publicKey.subarray(1))).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
      expect(() => suite.xwing.decapsulate(new Uint8Array(1119), secretKey)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
    });

    it(`${suite.name}: an all-zero (low-order) X25519 part is refused with KEM_FAILED`, () => {
      const { publicKey, secretKey } = suite.xwing.keygen();
      const badPk = publicKey.slice();
      badPk.fill(0, 1184);
      expect(() => suite.xwing.encapsulate(badPk)).toThrow(
        expect.objectContaining({ code: ErrorCode.KEM_FAILED }),
      );
      const ct = suite.xwing.encapsulate(publicKey).cipherText.slice();
      ct.fill(0, 1088);
      expect(() => suite.xwing.decapsulate(ct, secretKey)).toThrow(
        expect.objectContaining({ code: ErrorCode.KEM_FAILED }),
      );
    });
  }
});
