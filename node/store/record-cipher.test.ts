import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isQkmsError, nativeSuite, nobleSuite, utf8 } from '../../protocol/index.ts';
import { contentKey, nonceKey } from './keys.ts';
import { RecordCipher, VALUE_FORMAT_VERSION } from './record-cipher.ts';

const native = nativeSuite();
const suites = [nobleSuite, ...(native === undefined ? [] : [native])];

function corrupt(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isQkmsError(e, ErrorCode.STORE_CORRUPT);
  }
}

describe('RecordCipher', () => {
  const storageKey = nobleSuite.randomBytes(32);
  const key = contentKey(new Uint8Array(32).fill(9));

  it('round-trips, with a version byte, a fresh nonce per seal and a tag', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const plaintext = utf8('a stored value');
    const a = cipher.seal(key, plaintext);
    const b = cipher.seal(key, plaintext);
    expect(a.length).toBe(1 + 12 + plaintext.length + 16);
    expect(a[0]).toBe(VALUE_FORMAT_VERSION);
    expect(a).not.toEqual(b);
    expect(cipher.open(key, a)).toEqual(plaintext);
    expect(cipher.open(key, b)).toEqual(plaintext);
  });

  it('is byte-compatible across the native and noble suites', () => {
    for (const sealer of suites) {
      for (const opener of suites) {
        const sealed = new RecordCipher(storageKey, sealer).seal(key, utf8('x'));
        expect(new RecordCipher(storageKey, opener).open(key, sealed)).toEqual(utf8('x'));
      }
    }
  });

  it('refuses any single flipped bit of the stored value (property)', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plain, at, bit) => {
          const sealed = cipher.seal(key, plain);
          const i = at % sealed.length;
          sealed[i] = (sealed[i] ?? 0) ^ (1 << bit);
          return corrupt(() => cipher.open(key, sealed));
        },
      ),
    );
  });

  it('refuses a value under any other key: one flipped key bit, or another kind (property)', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const nonce = nonceKey(new Uint8Array(32), new Uint8Array(16));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plain, at, bit) => {
          const sealed = cipher.seal(key, plain);
          const moved = key.slice();
          const i = at % moved.length;
          moved[i] = (moved[i] ?? 0) ^ (1 << bit);
          return (
            corrupt(() => cipher.open(moved, sealed)) && corrupt(() => cipher.open(nonce, sealed))
          );
        },
      ),
    );
  });

  it('refuses values shorter than version, nonce and tag, and unknown versions', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    for (const length of [0, 1, 13, 28]) {
      expect(
        corrupt(() =>
          cipher.open(key, Uint8Array.of(VALUE_FORMAT_VERSION, ...new Uint8Array(length))),
        ),
      ).toBe(true);
    }
    const sealed = cipher.seal(key, utf8('v'));
    sealed[0] = 2;
    expect(corrupt(() => cipher.open(key, sealed))).toBe(true);
  });

  it('refuses a value sealed under another storage key', () => {
    const sealed = new RecordCipher(storageKey, nobleSuite).seal(key, utf8('v'));
    const other = new RecordCipher(nobleSuite.randomBytes(32), nobleSuite);
    expect(corrupt(() => other.open(key, sealed))).toBe(true);
  });

  it('names the record kind in its error, never the content', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const sealed = cipher.seal(key, utf8('secret-share-bytes'));
    sealed[20] = (sealed[20] ?? 0) ^ 1;
    expect(() => cipher.open(key, sealed)).toThrow(/content record failed authentication/);
    expect(() => cipher.open(key, sealed)).not.toThrow(/secret/);
  });

  it('refuses a storage key that is not 32 bytes', () => {
    for (const bad of [new Uint8Array(16), new Uint8Array(33), 'key' as unknown as Uint8Array]) {
      expect(() => new RecordCipher(bad, nobleSuite)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
    }
  });

  it('refuses to seal or open once wiped (BUSY), and wiping twice is harmless', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const sealed = cipher.seal(key, utf8('v'));
    cipher.wipe();
    cipher.wipe();
    expect(() => cipher.seal(key, utf8('v'))).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
    expect(() => cipher.open(key, sealed)).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
  });
});
