// One request, one answer (docs/protocol.md §1), as a client or a node
// calling another node: dial a PeerId pinned by the caller, open a stream,
// write one frame, half-close, read one framed answer under a cap, close.
// The answer is authenticated by the Noise channel to that PeerId.
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { CODE_P2P, isMultiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { ErrorCode, QkmsError } from '../../protocol/index.ts';
import { MAX_FRAME_CAP_BYTES, readFrame, writeFrame } from './frame.ts';
import { positiveInt } from './validate.ts';

export interface RequestOptions {
  /** Bounds the whole exchange: dial, negotiation, request and answer. */
  readonly signal: AbortSignal;
  /** Cap on the answer frame's body, checked from its length prefix. */
  readonly maxReplyBytes: number;
}

/** The PeerId a target pins: a multiaddr must end in `/p2p/<PeerId>`, or nothing would be pinned. */
function pinnedPeer(target: PeerId | Multiaddr): PeerId {
  if (!isMultiaddr(target)) return target;
  const id = target.getComponents().findLast((c) => c.code === CODE_P2P)?.value;
  if (id === undefined)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'target: multiaddr must end in /p2p/<PeerId>');
  return peerIdFromString(id);
}

/**
 * Sends `body` as one frame on a new stream of `protocol` to `target` and
 * returns the answer's body. Throws QkmsError TOO_LARGE / MALFORMED for an
 * answer over the cap or badly framed, the signal's reason on abort, and
 * libp2p's errors for dial, negotiation or a reset stream (a transport
 * fault the caller may retry on a fresh connection).
 */
export async function requestOnce(
  libp2p: Libp2p,
  target: PeerId | Multiaddr,
  protocol: string,
  body: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  const { signal } = options;
  const maxReplyBytes = positiveInt(options.maxReplyBytes, 'maxReplyBytes', MAX_FRAME_CAP_BYTES);
  const expected = pinnedPeer(target);
  const connection = await libp2p.dial(target, { signal });
  // Noise already refused any other key; this makes the pin explicit.
  if (!connection.remotePeer.equals(expected))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'target: connected to another PeerId');
  // Optimistic negotiation: the protocol id travels with the request, saving a round trip.
  const stream = await connection.newStream(protocol, { signal, negotiateFully: false });
  try {
    await writeFrame(stream, body, signal);
    await stream.close({ signal });
    return await readFrame(stream, maxReplyBytes, signal);
  } finally {
    // The answer is read (or never will be): reset whatever the remote left open.
    if (stream.status === 'open' || stream.status === 'closing')
      stream.abort(new Error('request finished'));
  }
}
