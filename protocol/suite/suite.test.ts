// Every CryptoSuite primitive, crossed between the native and noble backends,
// with known answers from the primitives' own specifications.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { ErrorCode } from '../errors.ts';
import { defaultSuite } from './index.ts';
import { requireNativeSuite } from './native.ts';
import { nobleSuite } from './noble.ts';
import type { CryptoSuite, SignatureScheme } from './types.ts';

const native = requireNativeSuite();
const backends: readonly CryptoSuite[] = [native, nobleSuite];
const pairs = [
  [native, nobleSuite],
  [nobleSuite, native],
] as const;

it('the default suite is native on this runtime (Node >= 24)', () => {
  expect(defaultSuite().name).toBe('native');
});

describe('hashes: known answers on both backends', () => {
  const abc = utf8('abc');
  for (const s of backends) {
    it(`${s.name}: SHA-256, SHA3-256 and Keccak-256 of "abc"`, () => {
      expect(toHex(s.sha256(abc))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      expect(toHex(s.sha3_256(abc))).toBe(
        '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
      );
      expect(toHex(s.keccak256(abc))).toBe(
        '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45',
      );
    });

    it(`${s.name}: HKDF-SHA256 matches RFC 5869 test case 1`, () => {
      const okm = s.hkdfSha256(
        fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
        fromHex('000102030405060708090a0b0c'),
        fromHex('f0f1f2f3f4f5f6f7f8f9'),
        42,
      );
      expect(toHex(okm)).toBe(
        '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
      );
    });
  }
});

describe('AES-256-GCM', () => {
  for (const [a, b] of pairs) {
    it(`${a.name} encrypts, ${b.name} decrypts; tampering anywhere is DECRYPT_FAILED`, () => {
      const key = a.randomBytes(32);
      const nonce = a.randomBytes(12);
      const aad = utf8('aad');
      const pt = a.randomBytes(100);
      const sealed = a.aes256gcm.encrypt(key, nonce, pt, aad);
      expect(sealed.length).toBe(116);
      expect(toHex(b.aes256gcm.decrypt(key, nonce, sealed, aad))).toBe(toHex(pt));
      const failed = expect.objectContaining({ code: ErrorCode.DECRYPT_FAILED });
      for (const at of [0, 99, 100, 115]) {
        const bad = sealed.slice();
        bad[at] = (bad[at] ?? 0) ^ 0x80;
        expect(() => b.aes256gcm.decrypt(key, nonce, bad, aad)).toThrow(failed);
      }
      expect(() => b.aes256gcm.decrypt(key, nonce, sealed, utf8('aae'))).toThrow(failed);
      expect(() => b.aes256gcm.decrypt(key, nonce, sealed.subarray(0, 15), aad)).toThrow(failed);
      expect(() => b.aes256gcm.decrypt(key.subarray(1), nonce, sealed, aad)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
    });
  }

  it('matches a known answer (NIST GCM test case 16, AES-256)', () => {
    const key = fromHex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const nonce = fromHex('cafebabefacedbaddecaf888');
    const pt = fromHex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const expected =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b';
    for (const s of backends)
      expect(toHex(s.aes256gcm.encrypt(key, nonce, pt, aad))).toBe(expected);
  });
});

function signatureCases(pick: (s: CryptoSuite) => SignatureScheme, label: string): void {
  describe(label, () => {
    it('native and noble derive the same public key from a seed', () => {
      for (let i = 0; i < 5; i++) {
        const seed = native.randomBytes(pick(native).lengths.seed);
        expect(toHex(pick(nobleSuite).keygen(seed).publicKey)).toBe(
          toHex(pick(native).keygen(seed).publicKey),
        );
      }
    });

    for (const [a, b] of pairs) {
      it(`${a.name} signs, ${b.name} verifies; any change to signature, message or key fails`, () => {
        const signer = pick(a);
        const verifier = pick(b);
        const { publicKey, secretKey } = signer.keygen();
        const message = utf8('qkms test message');
        const sig = signer.sign(message, secretKey);
        expect(sig.length).toBe(signer.lengths.signature);
        expect(verifier.verify(sig, message, publicKey)).toBe(true);
        expect(verifier.verify(signer.signer(secretKey).sign(message), message, publicKey)).toBe(
          true,
        );

        const badSig = sig.slice();
        badSig[7] = (badSig[7] ?? 0) ^ 1;
        expect(verifier.verify(badSig, message, publicKey)).toBe(false);
        expect(verifier.verify(sig, utf8('qkms test messagf'), publicKey)).toBe(false);
        expect(verifier.verify(sig, message, signer.keygen().publicKey)).toBe(false);
        expect(verifier.verify(sig.subarray(1), message, publicKey)).toBe(false);
        expect(verifier.verify(sig, message, publicKey.subarray(1))).toBe(false);
        expect(verifier.verify(new Uint8Array(sig.length), message, publicKey)).toBe(false);
      });
    }
  });
}

signatureCases((s) => s.ed25519, 'Ed25519');
signatureCases((s) => s.mldsa65, 'ML-DSA-65');
signatureCases((s) => s.hybrid, 'hybrid Ed25519 + ML-DSA-65');

describe('Ed25519 known answer', () => {
  it('RFC 8032 test 1 (empty message) on both backends', () => {
    const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const sig =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
    for (const s of backends) {
      expect(toHex(s.ed25519.getPublicKey(seed))).toBe(
        'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      );
      expect(toHex(s.ed25519.sign(new Uint8Array(0), seed))).toBe(sig);
    }
  });
});

describe('hybrid signature', () => {
  for (const s of backends) {
    it(`${s.name}: is invalid when either half alone is invalid`, () => {
      const { publicKey, secretKey } = s.hybrid.keygen();
      const message = utf8('revoke');
      const sig = s.hybrid.sign(message, secretKey);
      const edBroken = sig.slice();
      edBroken[3] = (edBroken[3] ?? 0) ^ 1;
      const mlBroken = sig.slice();
      mlBroken[64 + 100] = (mlBroken[64 + 100] ?? 0) ^ 1;
      expect(s.hybrid.verify(sig, message, publicKey)).toBe(true);
      expect(s.hybrid.verify(edBroken, message, publicKey)).toBe(false);
      expect(s.hybrid.verify(mlBroken, message, publicKey)).toBe(false);
    });

    it(`${s.name}: its halves are not plain signatures on the message (domain-tagged)`, () => {
      const { publicKey, secretKey } = s.hybrid.keygen();
      const message = utf8('revoke');
      const sig = s.hybrid.sign(message, secretKey);
      expect(s.ed25519.verify(sig.subarray(0, 64), message, publicKey.subarray(0, 32))).toBe(false);
      expect(s.mldsa65.verify(sig.subarray(64), message, publicKey.subarray(32))).toBe(false);
    });
  }
});

describe('randomness and comparison', () => {
  for (const s of backends) {
    it(`${s.name}: randomBytes returns the requested length and fresh bytes`, () => {
      const a = s.randomBytes(32);
      const b = s.randomBytes(32);
      expect(a.length).toBe(32);
      expect(toHex(a)).not.toBe(toHex(b));
      expect(s.randomBytes(0).length).toBe(0);
      expect(() => s.randomBytes(-1)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    });

    it(`${s.name}: equalBytes compares content and length`, () => {
      expect(s.equalBytes(fromHex('0102'), fromHex('0102'))).toBe(true);
      expect(s.equalBytes(fromHex('0102'), fromHex('0103'))).toBe(false);
      expect(s.equalBytes(fromHex('0102'), fromHex('010200'))).toBe(false);
      expect(s.equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    });
  }
});
