// The one-frame reader of per-request streams (FrameAssembler) and its parts
// (LengthPrefix, FrameBody): work is linear in the bytes received however
// they are chunked — a maximum frame one byte per chunk copies and allocates
// at most twice its size, empty chunks cost nothing, and the prefix is read
// byte by byte exactly as readFrameHeader reads it whole; the body handed
// out is a plain Uint8Array that owns exactly its bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countByteWork } from '../../test/support/byte-copies.ts';
import { toHex } from '../bytes.ts';
import { MAX_FRAME_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import {
  FrameAssembler,
  FrameBody,
  LengthPrefix,
  encodeFrame,
  maxFrameChunks,
  readFrameHeader,
} from './frame.ts';

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('FrameAssembler: work linear in the bytes received', () => {
  it('assembles a maximum frame (1 MiB, revsync) sent one byte per chunk, copying and allocating at most 2x its size', () => {
    const cap = MAX_FRAME_BYTES.revsync;
    const body = Uint8Array.from({ length: cap }, (_, i) => (i * 13) & 0xff);
    const frame = encodeFrame(body);
    // The chunk bound would refuse this trickle early (tested below): off, to show linearity.
    const assembler = new FrameAssembler(cap, { chunkBound: false });
    const work = countByteWork(() => {
      let out: Uint8Array | undefined;
      for (let i = 0; i < frame.length; i++) out = assembler.push(frame.subarray(i, i + 1));
      return out;
    });
    expect(toHex(work.result ?? new Uint8Array(0))).toBe(toHex(body));
    expect(work.copied).toBeLessThanOrEqual(2 * body.length);
    expect(work.allocated).toBeLessThanOrEqual(2 * body.length);
  });

  it('does no byte work for empty chunks, before or inside the prefix or the body', () => {
    const body = new Uint8Array(300).fill(3);
    const frame = encodeFrame(body); // a 2-byte prefix
    const assembler = new FrameAssembler(1024);
    const empty = new Uint8Array(0);
    const pushEmpties = (): void => {
      for (let i = 0; i < 10_000; i++) assembler.push(empty);
    };
    expect(countByteWork(pushEmpties).allocated).toBe(0);
    assembler.push(frame.subarray(0, 1)); // half the prefix
    expect(countByteWork(pushEmpties)).toEqual(
      expect.objectContaining({ copied: 0, allocated: 0 }),
    );
    assembler.push(frame.subarray(1, 50));
    expect(countByteWork(pushEmpties)).toEqual(
      expect.objectContaining({ copied: 0, allocated: 0 }),
    );
    expect(toHex(assembler.push(frame.subarray(50)) ?? new Uint8Array(0))).toBe(toHex(body));
  });

  it('hands out the body as a plain Uint8Array owning exactly its bytes, never a view of a chunk or of the prefix', () => {
    for (const n of [0, 5, 5000, 70_000]) {
      const body = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      const frame = Buffer.from(encodeFrame(body)); // what libp2p delivers in Node
      const assembler = new FrameAssembler(1 << 20);
      const cut = Math.min(3, frame.length);
      assembler.push(frame.subarray(0, cut));
      const got = assembler.push(frame.subarray(cut)) ?? assembler.end();
      frame.fill(0xee); // the transport reuses its buffer
      expect(got.constructor, `${n}`).toBe(Uint8Array);
      expect(got.byteOffset, `${n}`).toBe(0);
      expect(got.buffer.byteLength, `${n}`).toBe(n);
      expect(toHex(got), `${n}`).toBe(toHex(body));
    }
  });
});

describe('FrameAssembler: the chunk bound', () => {
  it('refuses a publish frame trickled a byte per chunk at the first chunk past maxFrameChunks', () => {
    const n = MAX_FRAME_BYTES.publish;
    const frame = encodeFrame(new Uint8Array(n).fill(9));
    const assembler = new FrameAssembler(n);
    let pushed = 0;
    let error: unknown;
    try {
      for (; pushed < frame.length; pushed++) assembler.push(frame.subarray(pushed, pushed + 1));
    } catch (e) {
      error = e;
    }
    expect(error).toEqual(code(ErrorCode.MALFORMED));
    expect(pushed).toBe(maxFrameChunks(n));
  });

  it('accepts a frame in as many chunks as its length allows', () => {
    for (const n of [0, 1, 200, 4096, 65_536]) {
      const body = new Uint8Array(n).fill(4);
      const frame = encodeFrame(body);
      const cuts = Math.min(maxFrameChunks(n), frame.length);
      const assembler = new FrameAssembler(1 << 20);
      let out: Uint8Array | undefined;
      for (let c = 0; c < cuts; c++) {
        const from = Math.floor((c * frame.length) / cuts);
        const to = Math.floor(((c + 1) * frame.length) / cuts);
        out = assembler.push(frame.subarray(from, to)) ?? out;
      }
      expect(out?.length, `${n}`).toBe(n);
    }
  });
});

describe('LengthPrefix', () => {
  it('reads any prefix byte by byte exactly as readFrameHeader reads it whole', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 28 }),
        (bytes, cap) => {
          let whole: unknown;
          try {
            whole = readFrameHeader(bytes, cap);
          } catch (e) {
            whole = { error: (e as { code: string }).code };
          }
          const prefix = new LengthPrefix(cap);
          let stepwise: unknown = { complete: false };
          try {
            for (let i = 0; i < bytes.length; i++) {
              const length = prefix.push(bytes[i] ?? 0);
              if (length !== undefined) {
                stepwise = { complete: true, length, prefixBytes: i + 1 };
                break;
              }
            }
          } catch (e) {
            stepwise = { error: (e as { code: string }).code };
          }
          expect(stepwise).toEqual(whole);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is ready for the next prefix once one is complete, and says whether one has started', () => {
    const prefix = new LengthPrefix(1 << 20);
    expect(prefix.started).toBe(false);
    expect(prefix.push(0xac)).toBeUndefined();
    expect(prefix.started).toBe(true);
    expect(prefix.push(0x02)).toBe(300);
    expect(prefix.started).toBe(false);
    expect(prefix.push(0x05)).toBe(5);
    expect(() => new LengthPrefix(100).push(0xff)).toThrow(code(ErrorCode.TOO_LARGE));
  });
});

describe('FrameBody', () => {
  it('takes only the bytes the body still lacks and reports how many', () => {
    const body = new FrameBody(5);
    expect(body.fill(Uint8Array.of(1, 2, 3), 1)).toBe(2);
    expect(body.complete).toBe(false);
    expect(body.fill(Uint8Array.of(4, 5, 6, 7), 0)).toBe(3);
    expect(body.complete).toBe(true);
    expect([...body.bytes()]).toEqual([2, 3, 4, 5, 6]);
    expect(body.fill(Uint8Array.of(9), 0)).toBe(0);
  });

  it('refuses to hand out an incomplete body', () => {
    const body = new FrameBody(3);
    body.fill(Uint8Array.of(1), 0);
    expect(() => body.bytes()).toThrow(code(ErrorCode.INTERNAL));
  });

  it('allocates memory as bytes arrive, not as the prefix announces', () => {
    const work = countByteWork(() => {
      const body = new FrameBody(MAX_FRAME_BYTES.revsync);
      body.fill(Uint8Array.of(1), 0);
      return body;
    });
    expect(work.allocated).toBeLessThanOrEqual(4096 + 1); // its first buffer, and the test's byte
  });
});
