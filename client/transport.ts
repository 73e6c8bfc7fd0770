// What recover and publish need from the network, as one narrow interface:
// the connection pool (pool.ts) implements it over libp2p; unit tests wire an
// in-memory quorum. Anything `request` throws is a transport fault (no
// answer) unless its signal aborted; an answer — even a `reject` — comes back
// as bytes for the caller to decode.
import {
  CHANNEL_KINDS,
  ErrorCode,
  METHODS,
  isQkmsError,
  type ChannelKind,
  type NodeEntry,
} from '../protocol/internal.ts';

/**
 * The client-side protocols: the methods the request channel carries
 * (protocol/methods.ts), and `reshare`, on which anyone may ask a node which
 * node sets it has served (`node-set`): rare, so one stream per request.
 */
export type ProtocolName = ChannelKind | 'reshare';

/** Every client-side protocol. */
export const CLIENT_PROTOCOLS: readonly ProtocolName[] = [...CHANNEL_KINDS, 'reshare'];

function byProtocol<V>(value: (name: ProtocolName) => V): Readonly<Record<ProtocolName, V>> {
  return Object.fromEntries(CLIENT_PROTOCOLS.map((name) => [name, value(name)])) as Record<
    ProtocolName,
    V
  >;
}

type ProtocolIds = { readonly [P in ProtocolName]: (typeof METHODS)[P]['protocol'] };

/** Their libp2p ids (docs/protocol.md §1), from the method table. */
export const PROTOCOL_IDS = byProtocol((name) => METHODS[name].protocol) as ProtocolIds;

/** Largest answer accepted per protocol: its method's maxReplyBytes. */
export const MAX_REPLY_BYTES: Readonly<Record<ProtocolName, number>> = byProtocol(
  (name) => METHODS[name].maxReplyBytes,
);

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
  /**
   * The client adopted a successor node set: its nodes (new members, or old
   * ones at new addresses) become reachable. A transport that can reach any
   * node (an in-memory quorum in tests) need not implement it.
   */
  addNodes?(nodes: readonly NodeEntry[]): void;
}

/**
 * Whether an error from `request` means the node answered, but with a badly
 * framed answer (over the cap, cut short by its own end of stream, or with
 * bytes past the frame): the node's fault, not the network's, so not retried.
 */
export function isBadAnswer(e: unknown): boolean {
  return isQkmsError(e, ErrorCode.MALFORMED) || isQkmsError(e, ErrorCode.TOO_LARGE);
}
