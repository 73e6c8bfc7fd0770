// The codec accepts exactly one encoding of each allowed value and refuses
// everything else with a typed error, cheaply and without crashing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { decodeCanonical, encodeCanonical, type CborValue } from './cbor.ts';
import { FrameAssembler, encodeFrame, readFrameHeader } from './frame.ts';

const CAP = 4096;
const code = (c: string): unknown => expect.objectContaining({ code: c });

const cborValue: fc.Arbitrary<CborValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value as fc.Arbitrary<CborValue>;

describe('canonical CBOR', () => {
  it('round-trips every allowed value, and decode(encode(x)) re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        const bytes = encodeCanonical(v);
        const back = decodeCanonical(bytes, 1 << 20, 64);
        expect(toHex(encodeCanonical(back as CborValue))).toBe(toHex(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts map keys bytewise (RFC 8949 §4.2.1), not length-first', () => {
    // Encoded keys compared bytewise: "b" is 61 62, "aa" is 62 61 61, so "b" comes first.
    expect(toHex(encodeCanonical({ aa: 1, b: 2 }))).toBe('a261620262616101');
  });

  it('refuses non-canonical encodings of valid values with MALFORMED', () => {
    const cases: Record<string, string> = {
      'non-minimal integer': '1817', // 23 encoded in two bytes
      'non-minimal length': '5801ff', // 1-byte string with a 1-byte length field
      'unsorted map keys': 'a2616202616101', // {"b":2,"a":1}
      'indefinite-length array': '9f01ff',
      'indefinite-length bytes': '5f4101ff',
      'duplicate map keys': 'a2616101616102',
      float: 'fb3ff8000000000000',
      'half float': 'f93c00',
      tag: 'c11a514b67b0',
      undefined: 'f7',
      'trailing bytes': '0101',
      truncated: '8201',
      'integer map key': 'a10102',
      'bignum beyond safe integers': '1b0020000000000000',
    };
    for (const [name, hex] of Object.entries(cases)) {
      expect(() => decodeCanonical(fromHex(hex), CAP), name).toThrow(code(ErrorCode.MALFORMED));
    }
  });

  it('checks the size cap before parsing anything', () => {
    const big = new Uint8Array(CAP + 1); // not even valid CBOR: the cap answers first
    expect(() => decodeCanonical(big, CAP)).toThrow(code(ErrorCode.TOO_LARGE));
  });

  it('refuses nesting deeper than the bound without recursing into it', () => {
    const deep = new Uint8Array(3000).fill(0x81); // [[[[...
    expect(() => decodeCanonical(deep, 1 << 20)).toThrow(code(ErrorCode.MALFORMED));
    expect(decodeCanonical(fromHex('81818100'), CAP, 3)).toEqual([[[0]]]);
    expect(() => decodeCanonical(fromHex('8181818100'), CAP, 3)).toThrow(code(ErrorCode.MALFORMED));
  });

  it('refuses a container that claims more items than the input could hold', () => {
    expect(() => decodeCanonical(fromHex('9bffffffffffffffff'), CAP)).toThrow(
      code(ErrorCode.MALFORMED),
    );
    expect(() => decodeCanonical(fromHex('9a0001000000'), CAP)).toThrow(code(ErrorCode.MALFORMED));
  });

  it('never throws anything but a QkmsError on random or mutated input', () => {
    const valid = encodeCanonical({
      a: [1, 2, new Uint8Array([1, 2, 3])],
      b: 'text',
      c: { d: null },
    });
    const mutated = fc
      .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
      .map(([at, b]) => {
        const copy = valid.slice();
        copy[at] = b;
        return copy;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          mutated,
          fc.nat(valid.length).map((n) => valid.slice(0, n)),
        ),
        (bytes) => {
          try {
            decodeCanonical(bytes, CAP);
          } catch (e) {
            expect(e).toBeInstanceOf(QkmsError);
          }
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('refuses to encode floats and undefined', () => {
    expect(() => encodeCanonical(1.5)).toThrow(code(ErrorCode.INVALID_ARGUMENT));
    expect(() => encodeCanonical({ a: undefined } as unknown as CborValue)).toThrow(
      code(ErrorCode.INVALID_ARGUMENT),
    );
  });
});

describe('frames', () => {
  it('round-trips lengths across varint boundaries', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 65_536]) {
      const frame = encodeFrame(new Uint8Array(n));
      const header = readFrameHeader(frame, 1 << 20);
      expect(header).toEqual({ complete: true, length: n, prefixBytes: frame.length - n });
    }
  });

  it('refuses an oversized length from the prefix alone, before any body byte', () => {
    expect(() => readFrameHeader(fromHex('ffffff7f'), 16_384)).toThrow(code(ErrorCode.TOO_LARGE));
    expect(() => readFrameHeader(fromHex('8181'), 100)).toThrow(code(ErrorCode.TOO_LARGE)); // 129 > 100 after two of (maybe) more bytes
  });

  it('asks for more bytes when the prefix is incomplete, refuses non-minimal and overlong prefixes', () => {
    expect(readFrameHeader(fromHex('80'), 1 << 20)).toEqual({ complete: false });
    expect(() => readFrameHeader(fromHex('8000'), 1 << 20)).toThrow(code(ErrorCode.MALFORMED));
    expect(() => readFrameHeader(fromHex('80808080'), 1 << 30)).toThrow(code(ErrorCode.MALFORMED));
  });
});

describe('FrameAssembler', () => {
  it('assembles a frame split at every possible chunk boundary', () => {
    const body = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const frame = encodeFrame(body);
    for (let cut = 1; cut < frame.length; cut++) {
      const a = new FrameAssembler(1024);
      expect(a.push(frame.subarray(0, cut))).toBeUndefined();
      expect(toHex(a.push(frame.subarray(cut)) ?? new Uint8Array(0))).toBe(toHex(body));
    }
  });

  it('refuses an oversized length from its prefix, bytes after the frame, and a stream that ends early', () => {
    expect(() => new FrameAssembler(100).push(fromHex('8101'))).toThrow(code(ErrorCode.TOO_LARGE));
    expect(() => new FrameAssembler(100).push(fromHex('0201020304'))).toThrow(
      code(ErrorCode.MALFORMED),
    );
    const early = new FrameAssembler(100);
    expect(early.push(fromHex('0501'))).toBeUndefined();
    expect(() => early.end()).toThrow(code(ErrorCode.MALFORMED));
    expect(toHex(new FrameAssembler(100).push(fromHex('00')) ?? fromHex('ff'))).toBe('');
  });
});

describe('encodeCanonical output', () => {
  it('is a plain Uint8Array whose slice() is a copy, never a view of the original', () => {
    for (const value of [{ a: new Uint8Array(100).fill(7) }, { b: 'x'.repeat(200) }, { c: 1 }]) {
      const bytes = encodeCanonical(value);
      expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
      const before = Array.from(bytes);
      bytes.slice().fill(0);
      expect(Array.from(bytes)).toEqual(before);
    }
  });
});
