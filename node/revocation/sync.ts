// How a node keeps its revocation set in step with the node set's
// (DESIGN.md, Revocation): a record first received from an admin is pushed
// to every peer at once; every `syncIntervalMs` the node runs anti-entropy
// (revocation/anti-entropy.ts) with each peer, which repairs whatever a push
// missed — a node that was down, a partition — in both directions.
//
// Freshness: the node counts itself and each peer it completed an exchange
// with in the last `maxLagMs`; it is fresh while that count is a majority of
// the node set (docs/decisions/0004). A node that just started is "not yet
// synced" — not fresh — until its first exchanges reach a majority; after
// that, falling below one is "stale". It syncs with every peer at once on
// start, and with each peer again as soon as it connects.
//
// Each round with a peer starts by exchanging signed audit heads
// ('audit-head', docs/decisions/0010): the peer keeps ours, we keep its own,
// and it tells us the latest head of ours it witnessed.
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import {
  ErrorCode,
  METHODS,
  QkmsError,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  type MessageOf,
  type MessageType,
  type NodeEntry,
  type NodeSet,
  type SignedAuditHead,
} from '../../protocol/internal.ts';
import {
  reconcile,
  type LiveRevocations,
  type RevocationRecord,
  type SyncPeer,
} from '../../revocation/index.ts';
import type { Logger } from '../log.ts';
import type { NodeMetrics } from '../metrics.ts';
import { requestOnce } from '../network/index.ts';

export const REVSYNC_PROTOCOL = METHODS.revsync.protocol;

/** Where a node stands with its revocation set: see the file comment. */
export type FreshnessState = 'fresh' | 'not-yet-synced' | 'stale';

/** What the sync loop needs of the audit witness (node/audit/witness.ts). */
export interface AuditHeadExchange {
  /** This node's head, signed now. */
  statement(): SignedAuditHead;
  /** A peer's own head (throws if it is not that peer's, correctly signed). */
  fromPeer(from: number, head: SignedAuditHead): Promise<void>;
  /** What a peer witnessed of this node's log. */
  ownWitnessed(from: number, head: SignedAuditHead): Promise<void>;
}

export interface RevocationSyncOptions {
  readonly syncIntervalMs: number;
  readonly maxLagMs: number;
}

export interface RevocationSyncDeps {
  readonly libp2p: Libp2p;
  readonly nodeSet: NodeSet;
  readonly selfIndex: number;
  readonly live: LiveRevocations;
  readonly clock: () => number;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  /** The daemon's root signal: stops the loop and every exchange. */
  readonly signal: AbortSignal;
  /** Exchanges signed audit heads at the start of each round with a peer. */
  readonly audit?: AuditHeadExchange;
}

interface Peer {
  readonly node: NodeEntry;
  readonly peerId: PeerId;
  /** When the last exchange we started with it completed (ms), or undefined. */
  lastSync: number | undefined;
  /** A round with this peer is running: a slow peer never gets two at once. */
  busy: boolean;
}

function isReject(m: { readonly type: MessageType }): m is MessageOf<'reject'> {
  return m.type === 'reject';
}

function bad(message: string): QkmsError {
  return new QkmsError(ErrorCode.MALFORMED, message);
}

export class RevocationSync {
  readonly #deps: RevocationSyncDeps;
  readonly #options: RevocationSyncOptions;
  readonly #peers: Peer[];
  /** Set the first time this node was in sync with a majority since it started. */
  #synced: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;

  constructor(deps: RevocationSyncDeps, options: RevocationSyncOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#peers = deps.nodeSet.nodes
      .filter((n) => n.index !== deps.selfIndex)
      .map((node) => ({
        node,
        peerId: peerIdFromString(node.peerId),
        lastSync: undefined,
        busy: false,
      }));
    // A node set of one (or two, counting halves) needs no peer: itself is the majority.
    this.#synced = this.#majority(1);
  }

  /** Learns the peers' addresses and starts the anti-entropy loop (a first round at once). */
  async start(): Promise<void> {
    for (const peer of this.#peers) {
      await this.#deps.libp2p.peerStore.merge(peer.peerId, {
        multiaddrs: peer.node.multiaddrs.map((a) => multiaddr(a)),
      });
    }
    this.#deps.signal.addEventListener('abort', () => {
      clearTimeout(this.#timer);
    });
    // A peer that (re)connects and was not synced within the interval gets a round at once,
    // so a node that comes back converges without waiting for the next tick.
    this.#deps.libp2p.addEventListener('connection:open', (event) => {
      const peer = this.#peers.find((p) => p.peerId.equals(event.detail.remotePeer));
      const now = this.#deps.clock();
      if (peer !== undefined && (peer.lastSync ?? 0) < now - this.#options.syncIntervalMs)
        void this.#syncPeer(peer);
    });
    this.#schedule(0);
  }

  /** Waits for a round in flight (shutdown). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#round;
  }

  /** Whether this node synced with a majority of the node set (itself included) within maxLagMs. */
  fresh(): boolean {
    return this.state() === 'fresh';
  }

  /** Fresh; not yet synced with a majority since it started; or stale (it was, and is no longer). */
  state(): FreshnessState {
    if (this.#majority(this.#inSync())) {
      this.#synced = true;
      return 'fresh';
    }
    return this.#synced ? 'stale' : 'not-yet-synced';
  }

  /** Why the node is not fresh, for /readyz; undefined when it is. */
  reason(): string | undefined {
    const state = this.state();
    if (state === 'fresh') return undefined;
    const majority = Math.floor(this.#deps.nodeSet.nodes.length / 2) + 1;
    if (state === 'not-yet-synced')
      return `revocations not yet synced: no anti-entropy round with a majority of the node set (${majority} of ${this.#deps.nodeSet.nodes.length}, itself included) since start`;
    const lag = this.lagMs();
    return `revocations stale: last in sync with a majority ${lag === null ? '?' : String(lag)} ms ago (bound ${this.#options.maxLagMs} ms)`;
  }

  /** The node itself plus the peers it completed an exchange with within maxLagMs. */
  #inSync(): number {
    const now = this.#deps.clock();
    const bound = this.#options.maxLagMs;
    return (
      1 + this.#peers.filter((p) => p.lastSync !== undefined && now - p.lastSync <= bound).length
    );
  }

  #majority(count: number): boolean {
    return count > this.#deps.nodeSet.nodes.length / 2;
  }

  /**
   * Milliseconds since this node was last in sync with a majority of the
   * node set (itself included), or null if it never was since it started.
   */
  lagMs(): number | null {
    const needed = Math.floor(this.#deps.nodeSet.nodes.length / 2); // peers, besides itself
    if (needed === 0) return 0;
    const times = this.#peers
      .map((p) => p.lastSync)
      .filter((t): t is number => t !== undefined)
      .sort((a, b) => b - a);
    const at = times[needed - 1];
    return at === undefined ? null : Math.max(0, this.#deps.clock() - at);
  }

  /** Sends a newly stored record to every peer at once; a failed push is left to anti-entropy. */
  push(record: RevocationRecord): void {
    for (const peer of this.#peers) {
      this.#send(peer, { type: 'revsync-push', records: [record.bytes] }, 'revsync-push-ok').catch(
        (e: unknown) => {
          this.#deps.log.debug('revocation push failed', {
            peer: peer.node.index,
            error: e instanceof Error ? e.name : typeof e,
          });
        },
      );
    }
  }

  /** One anti-entropy round with every peer, now (tests and the loop). */
  syncNow(): Promise<void> {
    this.#round ??= this.#syncAll().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  #stopped(): boolean {
    return this.#deps.signal.aborted;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped()) return;
    this.#timer = setTimeout(() => {
      void this.syncNow().finally(() => {
        // ±10% jitter so the nodes' rounds do not line up.
        const interval = this.#options.syncIntervalMs;
        this.#schedule(interval * (0.9 + Math.random() * 0.2));
      });
    }, delayMs);
  }

  async #syncAll(): Promise<void> {
    await Promise.all(this.#peers.map((peer) => this.#syncPeer(peer)));
    this.#deps.metrics.revocationFresh.set(this.fresh() ? 1 : 0);
  }

  async #syncPeer(peer: Peer): Promise<void> {
    if (peer.busy || this.#stopped()) return;
    peer.busy = true;
    const { metrics, log } = this.#deps;
    try {
      await this.#exchangeHeads(peer);
      const result = await reconcile(this.#deps.live, this.#syncPeerOver(peer));
      peer.lastSync = this.#deps.clock();
      if (!this.#synced && this.state() === 'fresh')
        log.info('revocations in sync with a majority of the node set', { peer: peer.node.index });
      metrics.revocationSyncs.inc({ result: 'ok' });
      metrics.revocationLastSync.set({ peer: String(peer.node.index) }, peer.lastSync / 1000);
      if (result.pulled > 0 || result.pushed > 0)
        log.info('revocations repaired', {
          peer: peer.node.index,
          pulled: result.pulled,
          pushed: result.pushed,
        });
    } catch (e) {
      if (this.#stopped()) return;
      metrics.revocationSyncs.inc({ result: 'failed' });
      log.debug('revocation sync failed', {
        peer: peer.node.index,
        error: e instanceof QkmsError ? e.code : e instanceof Error ? e.name : typeof e,
      });
    } finally {
      peer.busy = false;
    }
  }

  /**
   * Sends our signed audit head; keeps the peer's and what it witnessed of
   * ours. A refusal or a bad answer (an older peer, a head that does not
   * verify) is logged and the round goes on; a transport fault ends it.
   */
  async #exchangeHeads(peer: Peer): Promise<void> {
    const audit = this.#deps.audit;
    if (audit === undefined) return;
    const from = peer.node.index;
    try {
      const reply = await this.#send(
        peer,
        { type: 'audit-head', head: audit.statement() },
        'audit-head-ok',
      );
      await audit.fromPeer(from, reply.head);
      if (reply.witnessed !== undefined) await audit.ownWitnessed(from, reply.witnessed);
    } catch (e) {
      if (!isQkmsError(e) || this.#stopped()) throw e;
      this.#deps.log.debug('audit head exchange failed', { peer: from, error: e.code });
    }
  }

  #syncPeerOver(peer: Peer): SyncPeer {
    return {
      digest: async (prefix, mine) => {
        const reply = await this.#send(
          peer,
          { type: 'revsync-digest', prefix, count: mine.count, xor: mine.xor },
          'revsync-digest-ok',
        );
        return { count: reply.count, xor: reply.xor, children: reply.children, ids: reply.ids };
      },
      fetch: async (ids) =>
        (await this.#send(peer, { type: 'revsync-fetch', ids }, 'revsync-records')).records,
      push: async (records) => {
        await this.#send(peer, { type: 'revsync-push', records }, 'revsync-push-ok');
      },
    };
  }

  async #send<T extends MessageType>(
    peer: Peer,
    message: Parameters<typeof encodeMessage>[0],
    expected: T,
  ): Promise<MessageOf<T>> {
    const { protocol, maxReplyBytes, answerDeadlineMs } = METHODS.revsync;
    const signal = AbortSignal.any([this.#deps.signal, AbortSignal.timeout(answerDeadlineMs)]);
    const reply = await requestOnce(
      this.#deps.libp2p,
      peer.peerId,
      protocol,
      encodeMessage(message),
      { signal, maxReplyBytes },
    );
    const answer: MessageOf<T | 'reject'> = decodeMessage(reply, maxReplyBytes, [
      expected,
      'reject',
    ]);
    if (isReject(answer)) throw new QkmsError(answer.code, `peer ${peer.node.index} refused`);
    if (answer.type !== expected) throw bad(`peer ${peer.node.index}: unexpected answer`);
    return answer as MessageOf<T>;
  }

  /** Per peer: when the last exchange completed (ms), for status and tests. */
  lastSyncs(): ReadonlyMap<number, number | undefined> {
    return new Map(this.#peers.map((p) => [p.node.index, p.lastSync]));
  }
}
