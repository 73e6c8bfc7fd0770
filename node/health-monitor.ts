// The operator's view of the node's place in its quorum (docs/operations.md
// §4.3): which node-set peers it has a live connection to, and the threshold
// monitor — at risk when this node plus the peers it reaches number at most
// t, so one more loss leaves fewer than t. Kept current from libp2p's
// connection events (and on every `qkms node status`), with the open
// connection count beside it.
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p } from 'libp2p';
import type { NodeHealth, NodeSet } from '../protocol/internal.ts';
import type { NodeMetrics } from './metrics.ts';

export interface HealthMonitorDeps {
  readonly libp2p: Libp2p;
  readonly nodeSet: NodeSet;
  readonly selfIndex: number;
  readonly metrics: Pick<
    NodeMetrics,
    'connections' | 'quorumPeersReachable' | 'quorumAtRisk' | 'sharesStored'
  >;
  /** Revocation records in the live set. */
  readonly revocations: () => number;
  /** Milliseconds since the node was last in sync with a majority; null if never. */
  readonly revocationLagMs: () => number | null;
  /** Sequence number of the last durable audit record. */
  readonly auditHead: () => number;
}

export class HealthMonitor {
  readonly #deps: HealthMonitorDeps;
  readonly #peers: readonly { readonly index: number; readonly peerId: PeerId }[];
  readonly #onConnection = (): void => {
    this.#deps.metrics.connections.set(this.#deps.libp2p.getConnections().length);
    // After libp2p has updated its connection list.
    setTimeout(() => this.update(), 0).unref();
  };
  #started = false;

  constructor(deps: HealthMonitorDeps) {
    this.#deps = deps;
    this.#peers = deps.nodeSet.nodes
      .filter((n) => n.index !== deps.selfIndex)
      .map((n) => ({ index: n.index, peerId: peerIdFromString(n.peerId) }));
  }

  /** Sets the gauges now and keeps them current from connection events until close() or `signal`. */
  start(signal?: AbortSignal): void {
    if (this.#started || signal?.aborted === true) return;
    this.#started = true;
    const { libp2p, metrics } = this.#deps;
    libp2p.addEventListener('connection:open', this.#onConnection);
    libp2p.addEventListener('connection:close', this.#onConnection);
    signal?.addEventListener(
      'abort',
      () => {
        this.close();
      },
      { once: true },
    );
    metrics.connections.set(libp2p.getConnections().length);
    this.update();
  }

  close(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#deps.libp2p.removeEventListener('connection:open', this.#onConnection);
    this.#deps.libp2p.removeEventListener('connection:close', this.#onConnection);
  }

  /** Node-set indices of the peers with a live connection; updates the quorum gauges. */
  update(): number[] {
    const { libp2p, metrics, nodeSet } = this.#deps;
    const reachable = this.#peers
      .filter((p) => libp2p.getConnections(p.peerId).length > 0)
      .map((p) => p.index);
    metrics.quorumPeersReachable.set(reachable.length);
    metrics.quorumAtRisk.set(1 + reachable.length <= nodeSet.threshold ? 1 : 0);
    return reachable;
  }

  /** The node's operational state for /qkms/info (`qkms node status`): counts and indices only. */
  async health(): Promise<NodeHealth> {
    return {
      peers: this.update(),
      revocations: this.#deps.revocations(),
      revocationLagMs: this.#deps.revocationLagMs(),
      shares: (await this.#deps.metrics.sharesStored.get()).values[0]?.value ?? 0,
      auditHead: this.#deps.auditHead(),
    };
  }
}
