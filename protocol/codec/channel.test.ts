// The request channel's wire format (docs/protocol.md §1b): request and answer
// bodies round-trip for every kind and any id, the kind byte is the one the
// spec names, a body too short for its header or with an unknown kind is
// MALFORMED, a message over its kind's cap is TOO_LARGE; FrameSplitter gives
// back exactly the frames sent under any chunking, says `partial` exactly
// while a frame is incomplete, refuses a frame from its prefix alone, and
// hands out copies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { MAX_FRAME_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import {
  CHANNEL_KINDS,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  MAX_CHANNEL_ID,
  decodeChannelAnswer,
  decodeChannelRequest,
  encodeChannelAnswer,
  encodeChannelRequest,
  type ChannelKind,
} from './channel.ts';
import { encodeFrame } from './frame.ts';

const code = (c: string): unknown => expect.objectContaining({ code: c });

/** The wire codes of docs/protocol.md §1b. */
const KIND_CODES: Record<ChannelKind, number> = { recover: 1, publish: 2, info: 3, revoke: 4 };

const kind = fc.constantFrom(...CHANNEL_KINDS);
const id = fc.integer({ min: 0, max: MAX_CHANNEL_ID });
const message = fc.uint8Array({ maxLength: 300 });

/** `bytes` as a view into the middle of a larger buffer (decoders must honour byteOffset). */
function offsetView(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 11).fill(0xa5);
  backing.set(bytes, 7);
  return backing.subarray(7, 7 + bytes.length);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('channel request bodies', () => {
  it('lay out kind || id (big-endian) || message, with the kind codes of the spec', () => {
    for (const k of CHANNEL_KINDS) {
      const body = encodeChannelRequest(k, 0x01020304, Uint8Array.of(0xaa, 0xbb));
      expect(toHex(body)).toBe(`0${KIND_CODES[k]}01020304aabb`);
    }
    expect(CHANNEL_KINDS).toHaveLength(Object.keys(KIND_CODES).length);
  });

  it('round-trip every kind, any id and any message under the cap, also from an offset view', () => {
    fc.assert(
      fc.property(kind, id, message, (k, i, m) => {
        const body = encodeChannelRequest(k, i, m);
        for (const view of [body, offsetView(body)]) {
          const back = decodeChannelRequest(view);
          expect(back.kind).toBe(k);
          expect(back.id).toBe(i);
          expect(toHex(back.message)).toBe(toHex(m));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('carry an empty message (a header-only body is a request)', () => {
    for (const k of CHANNEL_KINDS)
      expect(decodeChannelRequest(encodeChannelRequest(k, 7, new Uint8Array(0)))).toEqual({
        kind: k,
        id: 7,
        message: new Uint8Array(0),
      });
  });

  it('accept a message of exactly its kind’s cap and refuse one byte more with TOO_LARGE', () => {
    for (const k of CHANNEL_KINDS) {
      const cap = MAX_FRAME_BYTES[k];
      expect(
        decodeChannelRequest(encodeChannelRequest(k, 1, new Uint8Array(cap))).message,
      ).toHaveLength(cap);
      expect(() =>
        decodeChannelRequest(encodeChannelRequest(k, 1, new Uint8Array(cap + 1))),
      ).toThrow(code(ErrorCode.TOO_LARGE));
    }
  });

  it('judge the cap per kind: an info message over 4 KiB is TOO_LARGE though a publish of it is fine', () => {
    const m = new Uint8Array(MAX_FRAME_BYTES.info + 1);
    expect(() => decodeChannelRequest(encodeChannelRequest('info', 1, m))).toThrow(
      code(ErrorCode.TOO_LARGE),
    );
    expect(decodeChannelRequest(encodeChannelRequest('publish', 1, m)).message).toHaveLength(
      m.length,
    );
  });

  it('refuse an unknown kind byte with MALFORMED', () => {
    for (const byte of [0, 5, 6, 0x7f, 0x80, 0xff]) {
      const body = Uint8Array.of(byte, 0, 0, 0, 1, 0xa0);
      expect(() => decodeChannelRequest(body), `kind ${byte}`).toThrow(code(ErrorCode.MALFORMED));
    }
  });

  it('refuse a body shorter than its 5-byte header with MALFORMED', () => {
    for (let n = 0; n < 5; n++) {
      const body = Uint8Array.of(1, 0, 0, 0, 1).subarray(0, n);
      expect(() => decodeChannelRequest(body), `${n} bytes`).toThrow(code(ErrorCode.MALFORMED));
    }
  });

  it('size MAX_CHANNEL_FRAME_BYTES to hold the largest request of any kind', () => {
    const largest = Math.max(...CHANNEL_KINDS.map((k) => MAX_FRAME_BYTES[k]));
    expect(MAX_CHANNEL_FRAME_BYTES).toBe(largest + 5);
    const k = CHANNEL_KINDS.find((x) => MAX_FRAME_BYTES[x] === largest) ?? 'publish';
    expect(encodeChannelRequest(k, 0, new Uint8Array(largest))).toHaveLength(
      MAX_CHANNEL_FRAME_BYTES,
    );
  });
});

describe('channel answer bodies', () => {
  it('lay out id (big-endian) || message', () => {
    expect(toHex(encodeChannelAnswer(0xdeadbeef, Uint8Array.of(1, 2)))).toBe('deadbeef0102');
    expect(toHex(encodeChannelAnswer(MAX_CHANNEL_ID, new Uint8Array(0)))).toBe('ffffffff');
  });

  it('round-trip any id and message, also from an offset view', () => {
    fc.assert(
      fc.property(id, message, (i, m) => {
        const body = encodeChannelAnswer(i, m);
        for (const view of [body, offsetView(body)]) {
          const back = decodeChannelAnswer(view);
          expect(back.id).toBe(i);
          expect(toHex(back.message)).toBe(toHex(m));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuse a body shorter than its 4-byte id with MALFORMED', () => {
    for (let n = 0; n < 4; n++)
      expect(() => decodeChannelAnswer(new Uint8Array(n)), `${n} bytes`).toThrow(
        code(ErrorCode.MALFORMED),
      );
  });
});

describe('FrameSplitter', () => {
  const CAP = 1024;
  const body = (n: number, fill = n): Uint8Array => new Uint8Array(n).fill(fill & 0xff);

  it('returns every frame of a chunk that holds several, in order', () => {
    const frames = [body(3), body(0), body(200), body(1)];
    const splitter = new FrameSplitter(CAP);
    const got = splitter.push(concat(frames.map(encodeFrame)));
    expect(got.map(toHex)).toEqual(frames.map(toHex));
    expect(splitter.partial).toBe(false);
  });

  it('reassembles one frame fed one byte at a time, returning it with its last byte only', () => {
    const b = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff); // a 2-byte prefix
    const frame = encodeFrame(b);
    const splitter = new FrameSplitter(CAP);
    for (let i = 0; i < frame.length - 1; i++)
      expect(splitter.push(frame.subarray(i, i + 1)), `byte ${i}`).toEqual([]);
    expect(splitter.push(frame.subarray(frame.length - 1)).map(toHex)).toEqual([toHex(b)]);
  });

  it('gives back the same frames under any chunking of any list of frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 260 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = concat(frames.map(encodeFrame));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const splitter = new FrameSplitter(CAP);
          const got: Uint8Array[] = [];
          let from = 0;
          for (const to of [...points, stream.length]) {
            got.push(...splitter.push(stream.slice(from, to)));
            from = to;
          }
          expect(got.map(toHex)).toEqual(frames.map(toHex));
          expect(splitter.partial).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('is partial exactly while a frame has begun and not ended', () => {
    const splitter = new FrameSplitter(CAP);
    expect(splitter.partial).toBe(false);
    const frame = encodeFrame(body(200)); // prefix c8 01
    splitter.push(frame.subarray(0, 1)); // half the prefix
    expect(splitter.partial).toBe(true);
    splitter.push(frame.subarray(1, 2)); // the prefix, no body
    expect(splitter.partial).toBe(true);
    splitter.push(frame.subarray(2, 100));
    expect(splitter.partial).toBe(true);
    splitter.push(frame.subarray(100));
    expect(splitter.partial).toBe(false);
    // A chunk that ends one frame and begins the next leaves it partial.
    splitter.push(concat([encodeFrame(body(2)), encodeFrame(body(5)).subarray(0, 3)]));
    expect(splitter.partial).toBe(true);
    splitter.push(new Uint8Array(3));
    expect(splitter.partial).toBe(false);
    // An empty frame is complete with its one-byte prefix.
    expect(splitter.push(Uint8Array.of(0))).toEqual([new Uint8Array(0)]);
    expect(splitter.partial).toBe(false);
  });

  it('refuses a frame over the cap with TOO_LARGE from the prefix alone, before its body', () => {
    // One byte over, as a bare prefix.
    expect(() => new FrameSplitter(CAP).push(encodeFrame(body(CAP + 1)).subarray(0, 2))).toThrow(
      code(ErrorCode.TOO_LARGE),
    );
    // The cap itself is fine.
    expect(new FrameSplitter(CAP).push(encodeFrame(body(CAP)))).toHaveLength(1);
    // Announced after a good frame in the same chunk.
    const splitter = new FrameSplitter(CAP);
    expect(() =>
      splitter.push(concat([encodeFrame(body(1)), encodeFrame(body(CAP + 1)).subarray(0, 2)])),
    ).toThrow(code(ErrorCode.TOO_LARGE));
    // The channel's own cap: a prefix of MAX_CHANNEL_FRAME_BYTES + 1.
    expect(() =>
      new FrameSplitter(MAX_CHANNEL_FRAME_BYTES).push(
        encodeFrame(body(MAX_CHANNEL_FRAME_BYTES + 1)).subarray(0, 3),
      ),
    ).toThrow(code(ErrorCode.TOO_LARGE));
  });

  it('refuses a non-minimal or overlong length prefix with MALFORMED', () => {
    const cases: Record<string, Uint8Array> = {
      'zero in two bytes': Uint8Array.of(0x80, 0x00),
      'one in two bytes': Uint8Array.of(0x81, 0x00, 0xff),
      'five in three bytes': Uint8Array.of(0x85, 0x80, 0x00),
      'a prefix past four bytes': Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01),
    };
    for (const [name, bytes] of Object.entries(cases))
      expect(() => new FrameSplitter(CAP).push(bytes), name).toThrow(code(ErrorCode.MALFORMED));
  });

  it('hands out copies: reusing a chunk afterwards changes no frame returned or still pending', () => {
    const a = body(4, 0x11);
    const b = body(6, 0x22);
    const chunk = concat([encodeFrame(a), encodeFrame(b).subarray(0, 4)]);
    const splitter = new FrameSplitter(CAP);
    const [first] = splitter.push(chunk);
    chunk.fill(0xee); // the transport reuses its buffer
    expect(toHex(first ?? new Uint8Array(0))).toBe(toHex(a));
    const rest = encodeFrame(b).subarray(4);
    const [second] = splitter.push(rest);
    rest.fill(0xee);
    expect(toHex(second ?? new Uint8Array(0))).toBe(toHex(b));
    // A frame that is the whole chunk, pushed into an empty splitter, is a copy too.
    const whole = encodeFrame(a);
    const [third] = new FrameSplitter(CAP).push(whole);
    whole.fill(0xee);
    expect(toHex(third ?? new Uint8Array(0))).toBe(toHex(a));
  });

  it('hands out plain Uint8Array copies of a Node Buffer chunk too (Buffer#slice is a view)', () => {
    // libp2p delivers Buffers in Node; a frame must not alias the transport's memory.
    const a = body(4, 0x11);
    const b = body(6, 0x22);
    const chunk = Buffer.from(concat([encodeFrame(a), encodeFrame(b).subarray(0, 4)]));
    const splitter = new FrameSplitter(CAP);
    const [first] = splitter.push(chunk);
    const rest = Buffer.from(encodeFrame(b).subarray(4));
    chunk.fill(0xee);
    const [second] = splitter.push(rest);
    rest.fill(0xee);
    for (const [frame, want] of [
      [first, a],
      [second, b],
    ] as const) {
      expect(frame?.constructor).toBe(Uint8Array);
      expect(toHex(frame ?? new Uint8Array(0))).toBe(toHex(want));
    }
  });
});
