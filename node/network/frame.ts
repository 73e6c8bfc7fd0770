// One frame on a libp2p stream (docs/protocol.md §1): an unsigned varint
// length, minimal and at most 4 bytes, then that many bytes. The prefix is
// parsed as its bytes arrive, so a length above the cap is refused before one
// body byte is buffered; one request and one answer per stream, so a byte
// past the frame is refused too. Used by both ends: the handler template
// (stream.ts) and requestOnce (dial.ts).
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { encodeFrame, FrameAssembler } from '../../protocol/internal.ts';

/** The largest length a minimal 4-byte varint prefix can carry: 2^28 - 1 bytes. */
export const MAX_FRAME_CAP_BYTES = 2 ** 28 - 1;

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
  const frame = new FrameAssembler(maxBytes);
  /** The body once the frame is complete; undefined while more bytes are due. */
  const progress = (chunk?: Uint8Array): Uint8Array | undefined => {
    const body = chunk === undefined ? undefined : frame.push(chunk);
    if (body !== undefined) return body;
    if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0)
      return frame.end();
    return undefined;
  };
  const settle = (chunk?: Uint8Array): void => {
    try {
      const body = progress(chunk);
      if (body !== undefined) resolve(body);
    } catch (e) {
      reject(e);
    }
  };
  const onMessage = (evt: StreamMessageEvent): void => {
    settle(evt.data.subarray());
  };
  const onRemoteClose = (): void => {
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
  stream.addEventListener('remoteCloseWrite', onRemoteClose);
  stream.addEventListener('close', onClose);
  signal.addEventListener('abort', onAbort);
  // Bytes that arrived before the listener are dispatched to it in a
  // microtask; only an already-ended, empty stream must be judged now.
  if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) settle();
  try {
    return await promise;
  } finally {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('remoteCloseWrite', onRemoteClose);
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
