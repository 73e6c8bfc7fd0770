// readFrame/writeFrame over an in-memory stream pair: the cap is judged from
// the prefix, a frame split into single bytes reassembles, and every way a
// frame can be wrong is refused with its code.
import type { Stream } from '@libp2p/interface';
import { streamPair } from '@libp2p/utils';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, QkmsError } from '../../protocol/index.ts';
import { readFrame, writeFrame } from './frame.ts';

const CAP = 300;
const LONG_MS = 5_000;

let open: Stream[] = [];

async function pair(): Promise<[Stream, Stream]> {
  const streams = await streamPair();
  open.push(...streams);
  return streams;
}

afterEach(() => {
  for (const s of open) s.abort(new Error('test done'));
  open = [];
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof QkmsError ? e.code : String(e);
  }
  return 'resolved';
}

describe('readFrame', () => {
  it('reads a frame written with writeFrame', async () => {
    const [a, b] = await pair();
    const body = Uint8Array.from({ length: 200 }, (_, i) => i);
    await writeFrame(a, body, AbortSignal.timeout(LONG_MS));
    expect(await readFrame(b, CAP, AbortSignal.timeout(LONG_MS))).toEqual(body);
  });

  it('reassembles a frame that arrives one byte at a time', async () => {
    const [a, b] = await pair();
    const body = Uint8Array.from({ length: 130 }, (_, i) => 255 - i);
    const reading = readFrame(b, CAP, AbortSignal.timeout(LONG_MS));
    // 130 needs a two-byte prefix, so the prefix itself is split too.
    for (const byte of [0x82, 0x01, ...body]) a.send(Uint8Array.of(byte));
    expect(await reading).toEqual(body);
  });

  it('reads a frame whose bytes arrived before the read began, then the writer closed', async () => {
    const [a, b] = await pair();
    a.send(Uint8Array.of(2, 7, 9));
    await a.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await readFrame(b, CAP, AbortSignal.timeout(LONG_MS))).toEqual(Uint8Array.of(7, 9));
  });

  it('reads an empty frame', async () => {
    const [a, b] = await pair();
    a.send(Uint8Array.of(0));
    expect(await readFrame(b, CAP, AbortSignal.timeout(LONG_MS))).toEqual(new Uint8Array(0));
  });

  it('refuses TOO_LARGE from a prefix of cap + 1 alone, no body sent', async () => {
    const [a, b] = await pair();
    a.send(Uint8Array.of(0xad, 0x02)); // 301
    expect(await codeOf(readFrame(b, CAP, AbortSignal.timeout(LONG_MS)))).toBe(ErrorCode.TOO_LARGE);
  });

  it('refuses TOO_LARGE from the first prefix byte when it already exceeds the cap', async () => {
    const [a, b] = await pair();
    a.send(Uint8Array.of(0xff)); // at least 127 + 128·k: over a cap of 100 at once
    expect(await codeOf(readFrame(b, 100, AbortSignal.timeout(LONG_MS)))).toBe(ErrorCode.TOO_LARGE);
  });

  const malformed: [string, number[], boolean][] = [
    ['a non-minimal prefix', [0x81, 0x00], false],
    ['a prefix longer than 4 bytes', [0x80, 0x80, 0x80, 0x80, 0x01], false],
    ['a frame cut short by the writer closing', [5, 1, 2], true],
    ['an empty stream the writer closed', [], true],
    ['a byte after the frame', [1, 42, 43], false],
  ];
  for (const [name, bytes, closeAfter] of malformed) {
    it(`refuses MALFORMED: ${name}`, async () => {
      const [a, b] = await pair();
      if (bytes.length > 0) a.send(Uint8Array.from(bytes));
      if (closeAfter) await a.close();
      expect(await codeOf(readFrame(b, 1 << 20, AbortSignal.timeout(LONG_MS)))).toBe(
        ErrorCode.MALFORMED,
      );
    });
  }

  it('gives up with the signal reason when the frame never completes', async () => {
    const [a, b] = await pair();
    a.send(Uint8Array.of(10, 1, 2));
    const controller = new AbortController();
    const reading = readFrame(b, CAP, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(reading).rejects.toThrow('deadline');
  });

  it('fails with the stream error when the writer resets the stream', async () => {
    const [a, b] = await pair();
    const reading = readFrame(b, CAP, AbortSignal.timeout(LONG_MS));
    a.send(Uint8Array.of(10, 1));
    a.abort(new Error('gone'));
    await expect(reading).rejects.toThrow();
  });
});
