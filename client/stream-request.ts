// One request and one answer on a stream of its own (docs/protocol.md §1),
// for the client-side methods the request channel does not carry: asking a
// node on /qkms/reshare/1 which node sets it has served (`node-set`). Rare —
// once per node-set change a client sees — so a stream per request is cheap
// enough, and it rides the pooled connection (pinned PeerId, Noise).
import type { Connection, Stream, StreamMessageEvent } from '@libp2p/interface';
import { FrameAssembler, encodeFrame } from '../protocol/internal.ts';

/** Reads exactly one frame of at most `maxBytes`; MALFORMED / TOO_LARGE from FrameAssembler. */
function readOneFrame(stream: Stream, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  signal.throwIfAborted();
  const frame = new FrameAssembler(maxBytes);
  const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
  /** Judges the stream after `chunk` (or after its remote end closed: no chunk). */
  const settle = (chunk?: Uint8Array): void => {
    try {
      const body = chunk === undefined ? undefined : frame.push(chunk);
      if (body !== undefined) resolve(body);
      else if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0)
        resolve(frame.end());
    } catch (e) {
      reject(e);
    }
  };
  const onMessage = (event: StreamMessageEvent): void => {
    settle(event.data.subarray());
  };
  const onRemoteClose = (): void => {
    settle();
  };
  const onClose = (event: { error?: Error }): void => {
    if (event.error === undefined) settle();
    else reject(event.error);
  };
  const onAbort = (): void => {
    reject(signal.reason);
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('remoteCloseWrite', onRemoteClose);
  stream.addEventListener('close', onClose);
  signal.addEventListener('abort', onAbort);
  if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) settle();
  return promise.finally(() => {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('remoteCloseWrite', onRemoteClose);
    stream.removeEventListener('close', onClose);
    signal.removeEventListener('abort', onAbort);
  });
}

/**
 * Sends `body` as one frame on a new `protocolId` stream of `connection`
 * and returns the answer's body (at most `maxReplyBytes`). The stream is
 * reset once the answer is read or given up on.
 */
export async function requestOnStream(
  connection: Connection,
  protocolId: string,
  body: Uint8Array,
  options: { readonly signal: AbortSignal; readonly maxReplyBytes: number },
): Promise<Uint8Array> {
  const { signal } = options;
  const stream = await connection.newStream(protocolId, { signal, negotiateFully: false });
  try {
    if (!stream.send(encodeFrame(body))) await stream.onDrain({ signal });
    await stream.close({ signal });
    return await readOneFrame(stream, options.maxReplyBytes, signal);
  } finally {
    if (stream.status === 'open' || stream.status === 'closing')
      stream.abort(new Error('request finished'));
  }
}
