// One request and one answer on a new stream of a pooled connection
// (docs/protocol.md §1): write the request as one frame (an unsigned LEB128
// length, then the bytes), half-close, read one framed answer whose length is
// checked against the cap as soon as its prefix arrives, then release the
// stream. The answer is authenticated by the Noise channel the connection
// runs on, to the PeerId the pool pinned.
//
// The reader listens before the request is written, so no byte can arrive
// unobserved; it returns as soon as the frame is complete rather than waiting
// for the node's end-of-stream (a node that forgets to close costs nothing),
// but refuses bytes beyond the frame that arrived with it.
import type { Connection, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { encodeFrame, FrameAssembler } from '../protocol/index.ts';

/**
 * Starts reading one frame of at most `maxBytes` from `stream`; listeners are
 * attached before this returns. Rejects with QkmsError TOO_LARGE / MALFORMED
 * for a bad frame, the stream's error when it is reset, `signal.reason` on abort.
 */
function readOneFrame(stream: Stream, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
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
    // Uint8Array or Uint8ArrayList: subarray() gives contiguous bytes either way.
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
  const cleanup = (): void => {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('remoteCloseWrite', onRemoteClose);
    stream.removeEventListener('close', onClose);
    signal.removeEventListener('abort', onAbort);
  };
  if (signal.aborted) {
    reject(signal.reason);
  } else {
    stream.addEventListener('message', onMessage);
    stream.addEventListener('remoteCloseWrite', onRemoteClose);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort);
  }
  return promise.finally(cleanup);
}

async function writeAndHalfClose(
  stream: Stream,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  if (!stream.send(encodeFrame(body))) await stream.onDrain({ signal });
  await stream.close({ signal });
}

/**
 * Sends `body` as one frame on a new stream of `protocol` and returns the
 * answer's body. Throws QkmsError TOO_LARGE / MALFORMED for a badly framed
 * answer, `signal.reason` on abort, and libp2p's errors for a stream that
 * cannot be opened or is reset (transport faults).
 */
export async function requestOnConnection(
  connection: Connection,
  protocol: string,
  body: Uint8Array,
  options: { readonly signal: AbortSignal; readonly maxReplyBytes: number },
): Promise<Uint8Array> {
  const { signal, maxReplyBytes } = options;
  signal.throwIfAborted();
  // Optimistic negotiation: the protocol id travels with the request, saving a round trip.
  const stream = await connection.newStream(protocol, { signal, negotiateFully: false });
  // Our own stop for the reader, so it settles whichever way this ends.
  const done = new AbortController();
  try {
    const reading = readOneFrame(stream, maxReplyBytes, AbortSignal.any([signal, done.signal]));
    // Promise.all observes both, so a failed write leaves no unhandled rejection behind.
    const [, reply] = await Promise.all([writeAndHalfClose(stream, body, signal), reading]);
    return reply;
  } finally {
    done.abort(new Error('request finished'));
    // The answer is read (or never will be): reset whatever the node left open.
    if (stream.status === 'open' || stream.status === 'closing')
      stream.abort(new Error('request finished'));
  }
}
