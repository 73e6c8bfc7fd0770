// requestOnConnection over an in-memory stream pair: the request leaves as
// one frame followed by our half-close; the answer is read under its cap
// (judged from the prefix), reassembled from any chunking, and refused when
// it runs past its frame or ends early; a reset and an abort surface as
// errors, and the stream is released either way.
import type { Connection, Stream } from '@libp2p/interface';
import { streamPair } from '@libp2p/utils';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, QkmsError, encodeFrame } from '../protocol/index.ts';
import { requestOnConnection } from './stream.ts';

const LONG_MS = 5_000;
let open: Stream[] = [];

/** A connection whose one new stream is the near end of a pair; the far end is returned. */
async function connection(): Promise<{ connection: Connection; remote: Stream; local: Stream }> {
  const [local, remote] = await streamPair();
  open.push(local, remote);
  const fake = { newStream: () => Promise.resolve(local) } as unknown as Connection;
  return { connection: fake, remote, local };
}

/** Resolves with all bytes the remote end received once our side half-closed. */
function received(remote: Stream): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const chunks: number[] = [];
    remote.addEventListener('message', (evt) => {
      chunks.push(...evt.data.subarray());
    });
    remote.addEventListener('remoteCloseWrite', () => {
      resolve(Uint8Array.from(chunks));
    });
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof QkmsError ? e.code : e instanceof Error ? e.name : String(e);
  }
  return 'resolved';
}

afterEach(() => {
  for (const s of open) s.abort(new Error('test done'));
  open = [];
});

function request(
  c: Connection,
  cap = 300,
  signal = AbortSignal.timeout(LONG_MS),
): Promise<Uint8Array> {
  return requestOnConnection(c, '/qkms/recover/1', Uint8Array.of(1, 2, 3), {
    signal,
    maxReplyBytes: cap,
  });
}

describe('requestOnConnection', () => {
  it('writes one frame, half-closes, and returns the framed answer', async () => {
    const { connection: c, remote } = await connection();
    const got = received(remote);
    const pending = request(c);
    expect(await got).toEqual(encodeFrame(Uint8Array.of(1, 2, 3)));
    remote.send(encodeFrame(Uint8Array.of(9, 8)));
    await remote.close();
    expect(await pending).toEqual(Uint8Array.of(9, 8));
  });

  it('reassembles an answer that arrives one byte at a time, without waiting for the end of stream', async () => {
    const { connection: c, remote } = await connection();
    const got = received(remote);
    const pending = request(c);
    await got;
    const body = Uint8Array.from({ length: 200 }, (_, i) => i);
    for (const byte of encodeFrame(body)) remote.send(Uint8Array.of(byte));
    expect(await pending).toEqual(body); // the remote never closed its end
  });

  it('refuses an answer over the cap from its prefix alone', async () => {
    const { connection: c, remote } = await connection();
    const got = received(remote);
    const pending = request(c, 100);
    await got;
    remote.send(Uint8Array.of(0xc8, 0x01)); // 200, and no body
    expect(await codeOf(pending)).toBe(ErrorCode.TOO_LARGE);
  });

  it('refuses bytes after the frame, and a frame cut short by the end of stream', async () => {
    {
      const { connection: c, remote } = await connection();
      const got = received(remote);
      const pending = request(c);
      await got;
      remote.send(Uint8Array.of(1, 7, 0xee));
      expect(await codeOf(pending)).toBe(ErrorCode.MALFORMED);
    }
    {
      const { connection: c, remote } = await connection();
      const got = received(remote);
      const pending = request(c);
      await got;
      remote.send(Uint8Array.of(5, 1, 2));
      await remote.close();
      expect(await codeOf(pending)).toBe(ErrorCode.MALFORMED);
    }
  });

  it('surfaces a reset as the stream error (a transport fault), not as a bad answer', async () => {
    const { connection: c, remote } = await connection();
    const got = received(remote);
    const pending = request(c);
    await got;
    remote.abort(new Error('node went away'));
    const code = await codeOf(pending);
    expect(code).not.toBe('resolved');
    expect([ErrorCode.MALFORMED, ErrorCode.TOO_LARGE]).not.toContain(code);
  });

  it('rejects with the signal’s reason on abort and releases the stream', async () => {
    const { connection: c, local } = await connection();
    const controller = new AbortController();
    const pending = request(c, 300, controller.signal);
    controller.abort(new Error('enough'));
    await expect(pending).rejects.toThrow('enough');
    expect(['aborted', 'closed', 'reset']).toContain(local.status);
  });
});
