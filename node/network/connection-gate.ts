// A cap on concurrent inbound connections per source-address block (issue
// 12 item 4), as a libp2p connection gater. libp2p itself caps connections
// only in total and new connections per IP per second, so one host could
// hold a large share of maxConnections, each connection with a fresh PeerId
// and fresh per-PeerId buckets. The cap is checked once Noise has proved the
// remote's PeerId (denyInboundEncryptedConnection), so node-set peers are
// exempt by identity — a PeerId cannot be forged after the handshake — and
// not merely by address. A connection counts from that check until its
// socket closes, whatever happens to it in between.
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface';
import { addressBlock } from './address-block.ts';

export interface ConnectionGateOptions {
  /** Inbound connections one address block may hold at once (node-set peers not counted). */
  readonly maxPerBlock: number;
  /** True for a PeerId of the node set: never counted, never refused. */
  readonly isNodeSetPeer: (peer: PeerId) => boolean;
  /** TEST ONLY: peers to refuse both ways (a network partition). */
  readonly blocked?: (peer: PeerId) => boolean;
  /** Called for each connection refused for its block (the block key, for a log line). */
  readonly onRefused?: (block: string) => void;
}

export interface ConnectionGate {
  readonly gater: ConnectionGater;
  /** Inbound connections counted against `block` now. */
  count(block: string): number;
}

export function createConnectionGate(options: ConnectionGateOptions): ConnectionGate {
  const { maxPerBlock, isNodeSetPeer, blocked, onRefused } = options;
  // Only blocks with a live connection have an entry, so the map is bounded by the connections.
  const open = new Map<string, number>();

  const admit = (peer: PeerId, maConn: MultiaddrConnection): boolean => {
    if (isNodeSetPeer(peer) || maConn.status !== 'open') return true;
    const block = addressBlock(maConn.remoteAddr);
    const n = open.get(block) ?? 0;
    if (n >= maxPerBlock) {
      onRefused?.(block);
      return false;
    }
    open.set(block, n + 1);
    maConn.addEventListener(
      'close',
      () => {
        const left = (open.get(block) ?? 1) - 1;
        if (left > 0) open.set(block, left);
        else open.delete(block);
      },
      { once: true },
    );
    return true;
  };

  const gater: ConnectionGater = {
    denyInboundEncryptedConnection: (peer, maConn) =>
      blocked?.(peer) === true || !admit(peer, maConn),
    ...(blocked === undefined
      ? {}
      : {
          denyDialPeer: (peer: PeerId) => blocked(peer),
          denyOutboundEncryptedConnection: (peer: PeerId) => blocked(peer),
        }),
  };
  return { gater, count: (block) => open.get(block) ?? 0 };
}
