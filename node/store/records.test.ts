import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  encodeCanonical,
  isQkmsError,
  type CborValue,
} from '../../protocol/internal.ts';
import {
  decodeContent,
  decodeNonceValue,
  decodeRunState,
  encodeContent,
  encodeNonceValue,
  encodeRunState,
  type StoredContent,
} from './records.ts';

const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });

const contentArb: fc.Arbitrary<StoredContent> = fc.record({
  contentId: bytes(32),
  manifest: fc.uint8Array({ minLength: 1, maxLength: 512 }),
  manifestHash: bytes(32),
  owner: bytes(20),
  share: bytes(64),
  storedAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
});

function corrupt(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isQkmsError(e, ErrorCode.STORE_CORRUPT);
  }
}

const good = {
  contentId: new Uint8Array(32),
  manifest: new Uint8Array(8),
  manifestHash: new Uint8Array(32),
  owner: new Uint8Array(20),
  share: new Uint8Array(64),
  storedAt: 5,
};

describe('stored record encodings', () => {
  it('round-trip content records (property)', () => {
    fc.assert(
      fc.property(contentArb, (record) => {
        expect(decodeContent(encodeContent(record))).toEqual(record);
      }),
    );
  });

  it('hand back byte strings that do not alias the plaintext (which the store wipes)', () => {
    const plaintext = encodeContent({ ...good, share: new Uint8Array(64).fill(7) });
    const record = decodeContent(plaintext);
    plaintext.fill(0);
    expect(record.share).toEqual(new Uint8Array(64).fill(7));
  });

  it('still read a content record holding a v1 share (32 bytes): kept, never reported corrupt', () => {
    const v1 = decodeContent(encodeCanonical({ ...good, share: new Uint8Array(32).fill(1) }));
    expect(v1.share).toEqual(new Uint8Array(32).fill(1));
  });

  it('round-trip nonce values and run states', () => {
    expect(decodeNonceValue(encodeNonceValue(123))).toBe(123);
    for (const state of [
      { running: true, startedAt: 1, cleanShutdownAt: null },
      { running: false, startedAt: 1, cleanShutdownAt: 2 },
    ]) {
      expect(decodeRunState(encodeRunState(state))).toEqual(state);
    }
  });

  it.each<[string, CborValue]>([
    ['a missing field', Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'storedAt'))],
    ['an extra field', { ...good, extra: 1 }],
    ['a share of 31 bytes', { ...good, share: new Uint8Array(31) }],
    ['a share of 48 bytes (neither a v1 nor a v2 share)', { ...good, share: new Uint8Array(48) }],
    ['an owner of 32 bytes', { ...good, owner: new Uint8Array(32) }],
    ['an empty manifest', { ...good, manifest: new Uint8Array(0) }],
    ['a text contentId', { ...good, contentId: 'id' }],
    ['a negative storedAt', { ...good, storedAt: -1 }],
    ['an array', [1, 2]],
    ['a byte string', new Uint8Array(4)],
    ['null', null],
  ])('refuse to decode a content record with %s (STORE_CORRUPT)', (_name, value) => {
    expect(corrupt(() => decodeContent(encodeCanonical(value)))).toBe(true);
  });

  it('refuse non-canonical or trailing bytes (STORE_CORRUPT)', () => {
    const plain = encodeNonceValue(10);
    expect(corrupt(() => decodeNonceValue(Uint8Array.of(...plain, 0)))).toBe(true);
    expect(corrupt(() => decodeNonceValue(new Uint8Array(0)))).toBe(true);
    // expiresAt 10 with a non-minimal integer encoding (0x18 0x0a)
    expect(corrupt(() => decodeNonceValue(Uint8Array.of(...plain.slice(0, -1), 0x18, 0x0a)))).toBe(
      true,
    );
    expect(
      corrupt(() =>
        decodeRunState(encodeCanonical({ running: 1, startedAt: 1, cleanShutdownAt: null })),
      ),
    ).toBe(true);
  });

  it('refuse to encode bad input with INVALID_LENGTH / INVALID_ARGUMENT', () => {
    expect(() => encodeContent({ ...good, share: new Uint8Array(65) })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
    );
    expect(() => encodeNonceValue(-5)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => encodeRunState({ running: true, startedAt: 1.5, cleanShutdownAt: null })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});
