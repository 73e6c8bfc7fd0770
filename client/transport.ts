// What recover and publish need from the network, as one narrow interface:
// the connection pool (pool.ts) implements it over libp2p; unit tests wire an
// in-memory quorum. Anything `request` throws is a transport fault (no
// answer) unless its signal aborted; an answer — even a `reject` — comes back
// as bytes for the caller to decode.
import { ErrorCode, MAX_FRAME_BYTES, isQkmsError, type NodeEntry } from '../protocol/index.ts';

/** The client-side protocols and their libp2p ids (docs/protocol.md §1). */
export const PROTOCOL_IDS = {
  recover: '/qkms/recover/1',
  publish: '/qkms/publish/1',
  info: '/qkms/info/1',
  revoke: '/qkms/revoke/1',
} as const;
export type ProtocolName = keyof typeof PROTOCOL_IDS;

/**
 * Largest answer accepted per protocol. Answers are smaller than requests
 * (a sealed share is ~1.2 KiB, a receipt ~200 bytes), so the request caps bound them.
 */
export const MAX_REPLY_BYTES: Record<ProtocolName, number> = {
  recover: MAX_FRAME_BYTES.recover,
  publish: MAX_FRAME_BYTES.publish,
  info: MAX_FRAME_BYTES.info,
  revoke: MAX_FRAME_BYTES.revoke,
};

export interface NodeRequestOptions {
  /** Bounds the whole exchange: connecting, negotiating, request and answer. */
  readonly signal: AbortSignal;
  /**
   * For the retry after a transport fault: the performance.now() instant the
   * failed attempt began. A pooled connection older than that is replaced by
   * a new one; a newer one (another request already replaced it) is used.
   */
  readonly freshAfter?: number;
}

export interface NodeTransport {
  /** One request frame to `node` on `protocol`; resolves with the answer frame's body. */
  request(
    node: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array>;
}

/**
 * Whether an error from `request` means the node answered, but with a badly
 * framed answer (over the cap, cut short by its own end of stream, or with
 * bytes past the frame): the node's fault, not the network's, so not retried.
 */
export function isBadAnswer(e: unknown): boolean {
  return isQkmsError(e, ErrorCode.MALFORMED) || isQkmsError(e, ErrorCode.TOO_LARGE);
}
