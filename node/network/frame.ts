// One frame on a libp2p stream (docs/protocol.md §1): an unsigned varint
// length, minimal and at most 4 bytes, then that many bytes. The prefix is
// parsed as its bytes arrive, so a length above the cap is refused before one
// body byte is buffered; one request and one answer per stream, so a byte
// past the frame is refused too. Used by both ends: the handler template
// (stream.ts) and requestOnce (dial.ts).
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import {
  ErrorCode,
  QkmsError,
  concatBytes,
  encodeFrame,
  readFrameHeader,
} from '../../protocol/index.ts';

/** The largest length a minimal 4-byte varint prefix can carry: 2^28 - 1 bytes. */
export const MAX_FRAME_CAP_BYTES = 2 ** 28 - 1;

/** Bytes of the prefix that always suffice to decide it (protocol/codec/frame.ts refuses longer). */
const PREFIX_PROBE_BYTES = 4;

/** The first PREFIX_PROBE_BYTES buffered bytes (fewer if fewer arrived), without copying the rest. */
function head(chunks: readonly Uint8Array[]): Uint8Array {
  const out: number[] = [];
  for (const chunk of chunks) {
    for (const byte of chunk.subarray(0, PREFIX_PROBE_BYTES - out.length)) out.push(byte);
    if (out.length === PREFIX_PROBE_BYTES) break;
  }
  return Uint8Array.from(out);
}

/**
 * Reads exactly one frame of at most `maxBytes` body bytes and returns its
 * body. Throws QkmsError TOO_LARGE as soon as the prefix exceeds the cap,
 * MALFORMED for a bad prefix, a frame cut short by the remote closing its
 * end, or bytes after the frame; `signal.reason` when the signal aborts; the
 * stream's error when it is reset.
 */
export async function readFrame(
  stream: Stream,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  signal.throwIfAborted();
  const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  let header: { readonly prefixBytes: number; readonly frameBytes: number } | undefined;

  /** The body once the frame is complete; undefined while more bytes are due. */
  const progress = (): Uint8Array | undefined => {
    if (header === undefined) {
      const parsed = readFrameHeader(head(chunks), maxBytes);
      if (parsed.complete)
        header = {
          prefixBytes: parsed.prefixBytes,
          frameBytes: parsed.prefixBytes + parsed.length,
        };
    }
    if (header !== undefined) {
      if (buffered > header.frameBytes)
        throw new QkmsError(ErrorCode.MALFORMED, 'frame: bytes after the frame');
      if (buffered === header.frameBytes)
        return concatBytes(...chunks).subarray(header.prefixBytes);
    }
    if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0)
      throw new QkmsError(ErrorCode.MALFORMED, `frame: stream ended after ${buffered} bytes`);
    return undefined;
  };
  const settle = (): void => {
    try {
      const body = progress();
      if (body !== undefined) resolve(body);
    } catch (e) {
      reject(e);
    }
  };
  const onMessage = (evt: StreamMessageEvent): void => {
    const chunk = evt.data.subarray();
    chunks.push(chunk);
    buffered += chunk.length;
    settle();
  };
  const onClose = (evt: StreamCloseEvent): void => {
    if (evt.error === undefined) settle();
    else reject(evt.error);
  };
  const onAbort = (): void => {
    reject(signal.reason);
  };

  stream.addEventListener('message', onMessage);
  stream.addEventListener('remoteCloseWrite', settle);
  stream.addEventListener('close', onClose);
  signal.addEventListener('abort', onAbort);
  // Bytes that arrived before the listener are dispatched to it in a
  // microtask; only an already-ended, empty stream must be judged now.
  if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) settle();
  try {
    return await promise;
  } finally {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('remoteCloseWrite', settle);
    stream.removeEventListener('close', onClose);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Writes `body` as one frame, waiting for the stream to drain if it must. */
export async function writeFrame(
  stream: Stream,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  if (!stream.send(encodeFrame(body))) await stream.onDrain({ signal });
}
