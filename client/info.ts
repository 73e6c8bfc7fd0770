// `info()`: every node of the client's current set asked who it is
// (`/qkms/info`) at once — reachability, the set it serves, its protocol
// versions and software, its own health, and the round-trip time. A node's
// failure is its own entry, never an error of the call.
import {
  decodeMessage,
  encodeMessage,
  type CryptoSuite,
  type NodeHealth,
  type NodeSet,
  type RejectionCode,
} from '../protocol/internal.ts';
import { MAX_REPLY_BYTES, type NodeTransport } from './transport.ts';

/** One node's answer to `info()`. */
export interface NodeStatus {
  readonly index: number;
  readonly peerId: string;
  readonly reachable: boolean;
  /** Round trip, milliseconds (when reachable). */
  readonly ms?: number;
  /** The node refused the info request with this code. */
  readonly code?: RejectionCode;
  /** Whether the node serves the client's current node set. */
  readonly sameNodeSet?: boolean;
  /** The index the node says it has in it. */
  readonly servesIndex?: number;
  readonly versions?: readonly number[];
  readonly software?: string;
  /** What the node reports of its own state: peers it reaches, revocation lag, shares, audit head. */
  readonly health?: NodeHealth;
}

export interface InfoDeps {
  readonly suite: CryptoSuite;
  readonly transport: NodeTransport;
  /** Monotonic clock, ms (performance.now). */
  readonly now: () => number;
}

/** Asks every node of `nodeSet` at once; each within `timeoutMs` and the caller's signal. */
export function askInfo(
  deps: InfoDeps,
  nodeSet: NodeSet,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
): Promise<NodeStatus[]> {
  return Promise.all(
    nodeSet.nodes.map(async (node): Promise<NodeStatus> => {
      const started = deps.now();
      const signal = AbortSignal.any([
        AbortSignal.timeout(timeoutMs),
        ...(callerSignal === undefined ? [] : [callerSignal]),
      ]);
      try {
        const reply = await deps.transport.request(node, 'info', encodeMessage({ type: 'info' }), {
          signal,
        });
        const ms = deps.now() - started;
        const answer = decodeMessage(reply, MAX_REPLY_BYTES.info, ['info-ok', 'reject']);
        if (answer.type === 'reject')
          return { index: node.index, peerId: node.peerId, reachable: true, ms, code: answer.code };
        return {
          index: node.index,
          peerId: node.peerId,
          reachable: true,
          ms,
          sameNodeSet: deps.suite.equalBytes(answer.info.nodeSetId, nodeSet.id),
          servesIndex: answer.info.node,
          versions: answer.info.versions,
          software: answer.info.software,
          ...(answer.info.health === undefined ? {} : { health: answer.info.health }),
        };
      } catch {
        return { index: node.index, peerId: node.peerId, reachable: false };
      }
    }),
  );
}
