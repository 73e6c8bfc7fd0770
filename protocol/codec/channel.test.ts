// Long file: the channel wire format, body by body and under every chunking, against one spec section.
// The request channel's wire format (docs/protocol.md §1b): request and answer
// bodies round-trip for every kind and any id, the kind byte is the one the
// spec names, a body too short for its header or with an unknown kind is
// MALFORMED, a message over its kind's cap is TOO_LARGE; FrameSplitter gives
// back exactly the frames sent under any chunking, says `partial` exactly
// while a frame is incomplete, refuses a frame from its prefix alone, and
// hands out copies; reassembly copies and allocates at most twice a frame's
// size however it is chunked (a maximum frame one byte per chunk); a gate
// refuses a request over its kind's cap, or an answer over its request's cap,
// from its head, keeping none of its body, and the channel goes on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countByteWork } from '../../test/support/byte-copies.ts';
import { toHex } from '../bytes.ts';
import { MAX_FRAME_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import {
  CHANNEL_KINDS,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  MAX_CHANNEL_ID,
  channelAnswerGate,
  channelRequestGate,
  decodeChannelAnswer,
  decodeChannelRequest,
  encodeChannelAnswer,
  encodeChannelRequest,
  type ChannelKind,
} from './channel.ts';
import { encodeFrame, maxFrameChunks } from './frame.ts';

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
    const splitter = new FrameSplitter(CAP, undefined, { chunkBound: false });
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

// The linearity proofs feed frames one byte per chunk, which the chunk bound
// (maxFrameChunks) would refuse after a few hundred chunks: they turn it off to
// show that reassembly itself is linear, whatever the chunking.
describe('FrameSplitter: work linear in the bytes received', () => {
  /** Pushes `bytes` one byte per chunk (fresh chunks, as a transport delivers them). */
  function pushBytewise(splitter: FrameSplitter, bytes: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) frames.push(...splitter.push(bytes.subarray(i, i + 1)));
    return frames;
  }

  it('reassembles a maximum frame sent one byte per chunk, copying and allocating at most 2x its size', () => {
    const body = Uint8Array.from({ length: MAX_CHANNEL_FRAME_BYTES }, (_, i) => (i * 7) & 0xff);
    const frame = encodeFrame(body);
    const splitter = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES, undefined, { chunkBound: false });
    const work = countByteWork(() => pushBytewise(splitter, frame));
    expect(work.result.map(toHex)).toEqual([toHex(body)]);
    // The quadratic splitter this replaces copied ~n²/2 bytes here (about 2 GiB).
    expect(work.copied).toBeLessThanOrEqual(2 * body.length);
    expect(work.allocated).toBeLessThanOrEqual(2 * body.length);
  });

  it('stays within 2x for a maximum request behind the request gate, and for many small frames', () => {
    const message = new Uint8Array(MAX_FRAME_BYTES.publish).fill(0x5c);
    const body = encodeChannelRequest('publish', 7, message);
    const gated = new FrameSplitter(
      MAX_CHANNEL_FRAME_BYTES,
      channelRequestGate(() => {
        throw new Error('not refused');
      }),
      { chunkBound: false },
    );
    const frame = encodeFrame(body);
    const one = countByteWork(() => pushBytewise(gated, frame));
    expect(one.result.map(toHex)).toEqual([toHex(body)]);
    // The 5 head bytes are copied twice (head, then body): a constant.
    expect(one.copied).toBeLessThanOrEqual(2 * body.length + 16);
    expect(one.allocated).toBeLessThanOrEqual(2 * body.length + 16);

    // 2,000 ten-byte frames, one byte per chunk: each frame's bytes once, plus its head.
    const small = Array.from({ length: 2000 }, (_, i) =>
      encodeChannelRequest('info', i, new Uint8Array(5).fill(i & 0xff)),
    );
    const stream = concat(small.map(encodeFrame));
    const many = countByteWork(() => pushBytewise(gated, stream));
    expect(many.result).toHaveLength(small.length);
    expect(many.copied).toBeLessThanOrEqual(2 * stream.length);
  });

  it('hands out each frame as a plain Uint8Array owning exactly its bytes, never a view of a chunk', () => {
    const body = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const frame = Buffer.from(encodeFrame(body)); // what libp2p delivers in Node
    const splitter = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES);
    const [got] = [...splitter.push(frame.subarray(0, 100)), ...splitter.push(frame.subarray(100))];
    frame.fill(0xee);
    expect(got?.constructor).toBe(Uint8Array);
    expect(got?.byteOffset).toBe(0);
    expect(got?.buffer.byteLength).toBe(body.length);
    expect(toHex(got ?? new Uint8Array(0))).toBe(toHex(body));
  });

  it('refuses a frame trickled in more chunks than its length needs, whatever its size', () => {
    for (const n of [0, 10, 300, 5000, MAX_FRAME_BYTES.publish]) {
      const frame = encodeFrame(new Uint8Array(n).fill(1));
      const allowed = maxFrameChunks(n);
      // Exactly the allowed number of chunks: accepted.
      const ok = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES);
      const cuts = Math.min(allowed, frame.length);
      const got: Uint8Array[] = [];
      for (let c = 0; c < cuts; c++) {
        const from = Math.floor((c * frame.length) / cuts);
        const to = Math.floor(((c + 1) * frame.length) / cuts);
        got.push(...ok.push(frame.subarray(from, to)));
      }
      expect(got, `${n}`).toHaveLength(1);
      if (frame.length <= allowed) continue;
      // One byte per chunk: refused at the first chunk past the bound, with that much work.
      const trickle = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES);
      let pushed = 0;
      const work = countByteWork((): unknown => {
        try {
          for (; pushed < frame.length; pushed++) trickle.push(frame.subarray(pushed, pushed + 1));
        } catch (e) {
          return e;
        }
        return undefined;
      });
      expect(work.result, `${n}`).toEqual(code(ErrorCode.MALFORMED));
      expect(pushed, `${n}`).toBe(allowed);
      expect(work.copied, `${n}`).toBeLessThanOrEqual(2 * allowed + 16);
    }
  });

  it('counts frames begun, refused ones too, from the first byte of each prefix', () => {
    const splitter = new FrameSplitter(1024);
    expect(splitter.begun).toBe(0);
    const a = encodeFrame(new Uint8Array(200)); // a 2-byte prefix
    splitter.push(a.subarray(0, 1));
    expect(splitter.begun).toBe(1);
    splitter.push(a.subarray(1));
    expect(splitter.begun).toBe(1);
    splitter.push(concat([encodeFrame(new Uint8Array(1)), encodeFrame(new Uint8Array(3))]));
    expect(splitter.begun).toBe(3);
  });
});

describe('FrameSplitter with a gate: each frame’s cap from its head', () => {
  interface Refusal {
    readonly kind: ChannelKind | undefined;
    readonly id: number;
  }
  function requestSplitter(): { splitter: FrameSplitter; refusals: Refusal[] } {
    const refusals: Refusal[] = [];
    const splitter = new FrameSplitter(
      MAX_CHANNEL_FRAME_BYTES,
      channelRequestGate((kind, id) => {
        refusals.push({ kind, id });
      }),
      { chunkBound: false },
    );
    return { splitter, refusals };
  }

  it('refuses a recover request announcing more than the recover cap once its kind and id are in, keeping none of its body', () => {
    const { splitter, refusals } = requestSplitter();
    const body = encodeChannelRequest(
      'recover',
      0x01020304,
      new Uint8Array(MAX_FRAME_BYTES.recover + 1).fill(0x33),
    );
    const frame = encodeFrame(body);
    const prefixBytes = frame.length - body.length;
    // The prefix and the kind byte: still within every cap that kind could mean.
    expect(splitter.push(frame.subarray(0, prefixBytes + 1))).toEqual([]);
    expect(refusals).toEqual([]);
    // The id: refused now, before one message byte has arrived.
    expect(splitter.push(frame.subarray(prefixBytes + 1, prefixBytes + 5))).toEqual([]);
    expect(refusals).toEqual([{ kind: 'recover', id: 0x01020304 }]);
    expect(splitter.buffered).toBe(0);
    // Its message, a byte at a time: skipped, nothing allocated or copied for it.
    const rest = frame.subarray(prefixBytes + 5);
    const skipped = countByteWork(() => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < rest.length; i++) {
        out.push(...splitter.push(rest.subarray(i, i + 1)));
        if (splitter.buffered !== 0) throw new Error(`buffered ${splitter.buffered} at ${i}`);
      }
      return out;
    });
    expect(skipped.result).toEqual([]);
    expect(skipped.allocated).toBe(0);
    expect(skipped.copied).toBe(0);
    expect(splitter.partial).toBe(false);
    expect(refusals).toHaveLength(1);
    // The channel goes on: the next frame is read as usual.
    const next = encodeChannelRequest('recover', 5, Uint8Array.of(9));
    expect(splitter.push(encodeFrame(next)).map(toHex)).toEqual([toHex(next)]);
  });

  it('keeps a request exactly at its kind’s cap, and refuses one byte more, for every kind', () => {
    for (const k of CHANNEL_KINDS) {
      const { splitter, refusals } = requestSplitter();
      const at = encodeChannelRequest(k, 1, new Uint8Array(MAX_FRAME_BYTES[k]));
      const over = encodeChannelRequest(k, 2, new Uint8Array(MAX_FRAME_BYTES[k] + 1));
      const stream = concat([encodeFrame(at), encodeFrame(over), encodeFrame(at)]);
      if (over.length > MAX_CHANNEL_FRAME_BYTES) {
        // The largest kinds: one byte over is over every cap, refused from the prefix alone.
        expect(() => splitter.push(stream), k).toThrow(code(ErrorCode.TOO_LARGE));
        expect(refusals, k).toEqual([]);
        continue;
      }
      const got = splitter.push(stream);
      expect(
        got.map((b) => b.length),
        k,
      ).toEqual([at.length, at.length]);
      expect(refusals, k).toEqual([{ kind: k, id: 2 }]);
    }
  });

  it('refuses a request of an unknown kind that carries a message, by id, and still resets on a bad prefix', () => {
    const { splitter, refusals } = requestSplitter();
    const body = encodeChannelRequest('info', 77, Uint8Array.of(1, 2, 3));
    body[0] = 9;
    expect(splitter.push(encodeFrame(body))).toEqual([]);
    expect(refusals).toEqual([{ kind: undefined, id: 77 }]);
    // A header alone is delivered (its decoder answers MALFORMED by id); shorter, as is.
    expect(splitter.push(encodeFrame(body.subarray(0, 5)))).toHaveLength(1);
    expect(splitter.push(encodeFrame(body.subarray(0, 3)))).toHaveLength(1);
    // Past the largest cap of any kind, the prefix alone throws (the stream is reset).
    expect(() =>
      splitter.push(encodeFrame(new Uint8Array(MAX_CHANNEL_FRAME_BYTES + 1)).subarray(0, 3)),
    ).toThrow(code(ErrorCode.TOO_LARGE));
  });

  it('refuses an answer over its request’s cap once its id is in, and skips an answer for an unknown id', () => {
    const caps = new Map<number, number>([[1, 10]]);
    const refused: number[] = [];
    const splitter = new FrameSplitter(
      MAX_CHANNEL_FRAME_BYTES,
      channelAnswerGate(
        (i) => caps.get(i),
        (i) => refused.push(i),
      ),
    );
    const over = encodeFrame(encodeChannelAnswer(1, new Uint8Array(11)));
    expect(splitter.push(over.subarray(0, 5))).toEqual([]); // prefix and id
    expect(refused).toEqual([1]);
    expect(splitter.buffered).toBe(0);
    expect(splitter.push(over.subarray(5))).toEqual([]);
    // Exactly the cap is kept.
    const at = encodeChannelAnswer(1, new Uint8Array(10));
    expect(splitter.push(encodeFrame(at)).map(toHex)).toEqual([toHex(at)]);
    // An id nobody waits for: a maximum answer is skipped without a byte kept.
    const unknown = encodeFrame(encodeChannelAnswer(99, new Uint8Array(MAX_FRAME_BYTES.publish)));
    const work = countByteWork(() => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < unknown.length; i += 1000)
        out.push(...splitter.push(unknown.subarray(i, i + 1000)));
      return out;
    });
    expect(work.result).toEqual([]);
    expect(work.allocated).toBeLessThanOrEqual(16); // the 4-byte head
    expect(refused).toEqual([1, 99]);
    // An empty answer to an unknown id is delivered (the channel drops it by id).
    expect(splitter.push(encodeFrame(encodeChannelAnswer(98, new Uint8Array(0))))).toHaveLength(1);
  });

  it('gives back the same frames under any chunking behind a gate that refuses some', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(kind, fc.integer({ min: 0, max: 40 })), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (specs, cuts) => {
          // A gate with small caps: 20 message bytes for every kind.
          const refusals: number[] = [];
          const splitter = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES, {
            headBytes: 5,
            capOf: () => 25,
            refused: (head) => refusals.push(head[4] ?? -1),
          });
          const bodies = specs.map(([k, n], i) => encodeChannelRequest(k, i, new Uint8Array(n)));
          const stream = concat(bodies.map(encodeFrame));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const got: Uint8Array[] = [];
          let from = 0;
          for (const to of [...points, stream.length]) {
            got.push(...splitter.push(stream.slice(from, to)));
            from = to;
          }
          expect(got.map(toHex)).toEqual(bodies.filter((b) => b.length <= 25).map(toHex));
          expect(refusals).toEqual(bodies.flatMap((b, i) => (b.length > 25 ? [i] : [])));
          expect(splitter.partial).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
