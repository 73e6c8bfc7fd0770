// HPKE with X-Wing: crossing backends, interoperating with @hpke/hybridkem-x-wing
// in both directions, and refusing every mismatch of key, info, aad or bytes.
import { describe, expect, it } from 'vitest';
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { toHex, utf8 } from './bytes.ts';
import { ErrorCode } from './errors.ts';
import { open, seal } from './seal.ts';
import { requireNativeSuite } from './suite/native.ts';
import { nobleSuite } from './suite/noble.ts';

const native = requireNativeSuite();
const context = { info: utf8('qkms test info'), aad: utf8('qkms test aad') };
const failed = expect.objectContaining({ code: ErrorCode.DECRYPT_FAILED });

describe('HPKE X-Wing across backends', () => {
  for (const [a, b] of [
    [native, nobleSuite],
    [nobleSuite, native],
  ] as const) {
    it(`${a.name} seals, ${b.name} opens (seed and imported key)`, async () => {
      const { publicKey, secretKey } = b.xwing.keygen();
      const pt = a.randomBytes(32);
      const sealed = await seal(a, publicKey, context, pt);
      expect(sealed.enc.length).toBe(1120);
      expect(sealed.ciphertext.length).toBe(48);
      expect(toHex(await open(b, secretKey, context, sealed))).toBe(toHex(pt));
      expect(toHex(await open(b, b.xwing.decapsulator(secretKey), context, sealed))).toBe(
        toHex(pt),
      );
    });
  }
});

describe('HPKE interop with @hpke/hybridkem-x-wing', () => {
  const theirs = new CipherSuite({
    kem: new XWing(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });

  it('ours seals, theirs opens', async () => {
    const kp = await theirs.kem.generateKeyPair();
    const publicKey = new Uint8Array(await theirs.kem.serializePublicKey(kp.publicKey));
    const pt = native.randomBytes(32);
    const sealed = await seal(native, publicKey, context, pt);
    const opened = await theirs.open(
      { recipientKey: kp.privateKey, enc: sealed.enc, info: context.info },
      sealed.ciphertext,
      context.aad,
    );
    expect(toHex(new Uint8Array(opened))).toBe(toHex(pt));
  });

  it('theirs seals, ours opens', async () => {
    const { publicKey, secretKey } = native.xwing.keygen();
    const recipientPublicKey = await theirs.kem.deserializePublicKey(publicKey);
    const pt = native.randomBytes(32);
    const { enc, ct } = await theirs.seal(
      { recipientPublicKey, info: context.info },
      pt,
      context.aad,
    );
    const sealed = { enc: new Uint8Array(enc), ciphertext: new Uint8Array(ct) };
    expect(toHex(await open(native, secretKey, context, sealed))).toBe(toHex(pt));
    expect(toHex(await open(nobleSuite, secretKey, context, sealed))).toBe(toHex(pt));
  });

  it('their key pair derived from a seed has our public key', async () => {
    const seed = native.randomBytes(32);
    const kp = await new XWing().generateKeyPairDerand(seed);
    const theirPk = new Uint8Array(await theirs.kem.serializePublicKey(kp.publicKey));
    expect(toHex(theirPk)).toBe(toHex(native.xwing.keygen(seed).publicKey));
  });
});

describe('HPKE refuses every mismatch', () => {
  for (const suite of [native, nobleSuite]) {
    it(`${suite.name}: wrong key, info, aad, enc or ciphertext is DECRYPT_FAILED`, async () => {
      const { publicKey, secretKey } = suite.xwing.keygen();
      const sealed = await seal(suite, publicKey, context, utf8('share'));
      const flip = (b: Uint8Array, at: number): Uint8Array => {
        const c = b.slice();
        c[at] = (c[at] ?? 0) ^ 1;
        return c;
      };
      await expect(open(suite, suite.xwing.keygen().secretKey, context, sealed)).rejects.toThrow(
        failed,
      );
      await expect(
        open(suite, secretKey, { ...context, info: utf8('other') }, sealed),
      ).rejects.toThrow(failed);
      await expect(
        open(suite, secretKey, { ...context, aad: utf8('other') }, sealed),
      ).rejects.toThrow(failed);
      await expect(
        open(suite, secretKey, context, { ...sealed, enc: flip(sealed.enc, 10) }),
      ).rejects.toThrow(failed);
      await expect(
        open(suite, secretKey, context, { ...sealed, enc: flip(sealed.enc, 1110) }),
      ).rejects.toThrow(failed);
      await expect(
        open(suite, secretKey, context, { ...sealed, ciphertext: flip(sealed.ciphertext, 0) }),
      ).rejects.toThrow(failed);
      await expect(
        open(suite, secretKey, context, { ...sealed, enc: sealed.enc.subarray(1) }),
      ).rejects.toThrow(expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }));
    });
  }

  it('open wipes the recipient seed it was given a copy of, not the caller buffer', async () => {
    const { publicKey, secretKey } = native.xwing.keygen();
    const before = toHex(secretKey);
    const sealed = await seal(native, publicKey, context, utf8('x'));
    await open(native, secretKey, context, sealed);
    expect(toHex(secretKey)).toBe(before);
  });
});
