// The client's connection pool (DESIGN.md, "Recover, as the client sees
// it"): one libp2p connection per node of the node sets the client verified
// (the pinned set, then the successors it followed: addNodes), opened on
// first use and reused for every request (all of them on one long-lived
// request channel on it: channel.ts). The PeerId each node's connection must authenticate is pinned from
// the node set: Noise refuses any other key, and the pool checks it again.
//
// Keyed by PeerId, never by index: a node's index in one set may belong to
// another peer in the next, and a peer that stays keeps its connection.
//
// Reconnecting: a connection found closed is replaced on the next request.
// A retry after a transport fault asks for a connection opened after its
// failed attempt began (`freshAfter`): an older pooled connection — one that
// may have gone silently stale, e.g. behind a restarted node or a dead NAT —
// is retired and a new one opened; one that another request already opened
// meanwhile is reused, so concurrent retries do not tear down each other's
// new connections. A retired connection is closed once the requests still
// on it have ended (each has its own deadline), not under them.
//
// At most MAX_STREAMS_PER_NODE requests run on a node's connection at once;
// more wait their turn (under their own signal), so a burst of recovers never
// trips the node's per-connection stream limit, which would reset streams.
import type { Connection, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { ErrorCode, QkmsError, type NodeEntry } from '../protocol/index.ts';
import { raceSignal } from './abort.ts';
import { Channel } from './channel.ts';
import { requestOnStream } from './stream-request.ts';
import {
  MAX_REPLY_BYTES,
  PROTOCOL_IDS,
  type NodeRequestOptions,
  type NodeTransport,
  type ProtocolName,
} from './transport.ts';

/**
 * Requests in flight per node. A node accepts 32 concurrent streams per
 * protocol and connection by default (node/options.ts, maxStreamsPerProtocol)
 * and resets the rest. Staying at half of it keeps a burst from looking like
 * a transport fault: a stream this side has finished may still count on the
 * node's side for a moment while it closes.
 */
export const MAX_STREAMS_PER_NODE = 16;

/** A dial is TCP, Noise XX and Yamux negotiation: a few round trips, well under this. */
export const DIAL_TIMEOUT_MS = 5_000;

interface Target {
  readonly peer: PeerId;
  readonly addrs: readonly Multiaddr[];
}

interface Pooled {
  readonly connection: Connection;
  /** performance.now() when the pool took it. */
  readonly since: number;
  /** Requests running on it. */
  active: number;
  /** Out of the pool: closed as soon as `active` reaches 0. */
  retired: boolean;
  /** The request channel on it (channel.ts), opened with its first request. */
  channel: Promise<Channel> | undefined;
}

/** A counting semaphore whose waits take an AbortSignal. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(count: number) {
    this.#free = count;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    const { promise, resolve } = Promise.withResolvers<undefined>();
    const wake = (): void => {
      resolve(undefined);
    };
    this.#waiting.push(wake);
    try {
      await raceSignal(promise, signal);
    } catch (e) {
      const at = this.#waiting.indexOf(wake);
      if (at >= 0) this.#waiting.splice(at, 1);
      else this.release(); // handed a slot in the same tick it gave up: pass it on
      throw e;
    }
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free++;
    else next();
  }
}

/** The node's multiaddrs, each ending in /p2p/<its pinned PeerId>. */
function targetOf(node: NodeEntry): Target {
  const peer = peerIdFromString(node.peerId);
  const addrs = node.multiaddrs.map((text) => {
    const addr = multiaddr(text);
    const named = addr.getComponents().findLast((c) => c.code === CODE_P2P)?.value;
    if (named === undefined) return addr.encapsulate(`/p2p/${node.peerId}`);
    if (named !== node.peerId)
      throw new QkmsError(
        ErrorCode.INVALID_NODE_SET,
        `node ${node.index}: a multiaddr names another PeerId`,
      );
    return addr;
  });
  return { peer, addrs };
}

function close(connection: Connection): void {
  if (connection.status === 'open' || connection.status === 'closing')
    connection.abort(new Error('connection retired'));
}

export class ConnectionPool implements NodeTransport {
  readonly #libp2p: Libp2p;
  /** By PeerId (string form), as every map below. */
  readonly #targets = new Map<string, Target>();
  readonly #slots = new Map<string, Slots>();
  readonly #pooled = new Map<string, Pooled>();
  readonly #dialing = new Map<string, Promise<Pooled>>();
  readonly #now: () => number;

  constructor(
    libp2p: Libp2p,
    nodes: readonly NodeEntry[],
    now: () => number = () => performance.now(),
  ) {
    this.#libp2p = libp2p;
    this.#now = now;
    this.addNodes(nodes);
  }

  /**
   * Makes the nodes of a verified node set reachable: new peers join; a peer
   * already known dials the addresses listed here from now on (the newest
   * set's), and keeps any open connection, which Noise pinned to its PeerId.
   * Every address is checked before any node is added.
   */
  addNodes(nodes: readonly NodeEntry[]): void {
    const targets = nodes.map((node) => [node.peerId, targetOf(node)] as const);
    for (const [peer, target] of targets) {
      this.#targets.set(peer, target);
      if (!this.#slots.has(peer)) this.#slots.set(peer, new Slots(MAX_STREAMS_PER_NODE));
    }
  }

  async request(
    node: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array> {
    const { signal } = options;
    const peer = node.peerId;
    const slots = this.#slots.get(peer);
    if (slots === undefined)
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `pool: node ${node.index} is not in a node set the client verified`,
      );
    await slots.acquire(signal);
    try {
      const pooled = await this.#connection(peer, node.index, signal, options.freshAfter);
      pooled.active++;
      try {
        // Not carried by the channel (transport.ts): a stream of its own on the same connection.
        if (protocol === 'reshare')
          return await requestOnStream(pooled.connection, PROTOCOL_IDS.reshare, body, {
            signal,
            maxReplyBytes: MAX_REPLY_BYTES.reshare,
          });
        const channel = await raceSignal(this.#channel(pooled), signal);
        return await channel.request(protocol, body, {
          signal,
          maxReplyBytes: MAX_REPLY_BYTES[protocol],
        });
      } finally {
        pooled.active--;
        // A connection that died under the request leaves the pool at once.
        if (pooled.connection.status !== 'open') this.#retire(peer, pooled);
        else if (pooled.retired && pooled.active === 0) close(pooled.connection);
      }
    } finally {
      slots.release();
    }
  }

  /**
   * The connection's request channel, opened once and shared by every request
   * to the node; a channel that failed is replaced on the same connection.
   * Bounded by its own deadline, not one caller's signal.
   */
  async #channel(pooled: Pooled): Promise<Channel> {
    for (;;) {
      const seen = pooled.channel;
      const current = await seen?.catch(() => undefined);
      if (current?.usable === true) return current;
      // Another request replaced it while this one waited: use that one.
      if (pooled.channel !== seen) continue;
      current?.close();
      const opening = Channel.open(pooled.connection, AbortSignal.timeout(DIAL_TIMEOUT_MS));
      pooled.channel = opening;
      opening.catch(() => {
        if (pooled.channel === opening) pooled.channel = undefined;
      });
      return opening;
    }
  }

  /** Connections the pool holds (tests, metrics). */
  get size(): number {
    return this.#pooled.size;
  }

  async #connection(
    peer: string,
    index: number,
    signal: AbortSignal,
    freshAfter?: number,
  ): Promise<Pooled> {
    for (;;) {
      // Looked up on each dial: addNodes may have given the peer newer addresses meanwhile.
      const target = this.#targets.get(peer);
      if (target === undefined)
        throw new QkmsError(
          ErrorCode.INVALID_ARGUMENT,
          `pool: node ${index} is not in a node set the client verified`,
        );
      const current = this.#pooled.get(peer);
      if (current !== undefined) {
        const stale = freshAfter !== undefined && current.since < freshAfter;
        if (current.connection.status === 'open' && !stale) return current;
        this.#retire(peer, current);
      }
      const pending = this.#dialing.get(peer);
      if (pending !== undefined) {
        // Another request is connecting: wait for it, then look again.
        await raceSignal(
          pending.then(
            () => undefined,
            () => undefined,
          ),
          signal,
        );
        continue;
      }
      const dial = this.#dial(peer, index, target).finally(() => {
        this.#dialing.delete(peer);
      });
      this.#dialing.set(peer, dial);
      return raceSignal(dial, signal);
    }
  }

  /**
   * A new connection to the node, pooled. Always a new one (`force`): the pool,
   * not libp2p, decides which connection serves a node, and a retired one may
   * still be open for the requests finishing on it. Bounded by its own
   * deadline rather than one caller's signal, since other requests may wait on it.
   */
  async #dial(peer: string, index: number, target: Target): Promise<Pooled> {
    const connection = await this.#libp2p.dial([...target.addrs], {
      signal: AbortSignal.timeout(DIAL_TIMEOUT_MS),
      force: true,
    });
    if (!connection.remotePeer.equals(target.peer)) {
      // Noise already refused any other key; this makes the pin explicit.
      close(connection);
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `pool: node ${index} answered as another PeerId`,
      );
    }
    const pooled: Pooled = {
      connection,
      since: this.#now(),
      active: 0,
      retired: false,
      channel: undefined,
    };
    this.#pooled.set(peer, pooled);
    return pooled;
  }

  #retire(peer: string, pooled: Pooled): void {
    if (this.#pooled.get(peer) === pooled) this.#pooled.delete(peer);
    pooled.retired = true;
    if (pooled.active === 0) close(pooled.connection);
  }
}
