// What a client's libp2p host may dial: the addresses of the node sets the
// client verified (the pinned set, then each successor it followed: allow)
// and nothing else. Said explicitly because libp2p's browser default refuses
// every `ws://` and every private address (loopback, LAN), so a page could
// not reach a local or intranet quorum, while its Node default allows
// everything.
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { NodeSet } from '../protocol/internal.ts';

/** A libp2p connection gater over the verified node sets; `allow` adds one. */
export interface DialGate {
  readonly denyDialMultiaddr: (ma: Multiaddr) => boolean;
  /** Lets through the addresses of `nodeSet` too (a successor the client verified). */
  readonly allow: (nodeSet: NodeSet) => void;
}

/**
 * A libp2p connection gater that denies every address the node sets it was
 * given do not list. libp2p resolves a `/dnsaddr` before it asks the gater, so
 * for a node that lists one, any address carrying that node's PeerId is let
 * through (Noise then proves the PeerId, as on every dial). The sets only
 * grow: a node of an older set may still serve it mid-cutover.
 */
export function dialOnlyNodeSet(nodeSet: NodeSet): DialGate {
  const bare = (ma: Multiaddr): string => ma.decapsulateCode(CODE_P2P).toString();
  const allowed = new Set<string>();
  const viaDnsaddr = new Set<string>();
  const allow = (set: NodeSet): void => {
    for (const n of set.nodes) {
      for (const text of n.multiaddrs) allowed.add(bare(multiaddr(text)));
      if (n.multiaddrs.some((t) => t.startsWith('/dnsaddr/'))) viaDnsaddr.add(n.peerId);
    }
  };
  allow(nodeSet);
  const peerOf = (ma: Multiaddr): string | undefined =>
    ma.getComponents().findLast((c) => c.code === CODE_P2P)?.value;
  return {
    denyDialMultiaddr: (ma) => {
      if (allowed.has(bare(ma))) return false;
      const peer = peerOf(ma);
      return !(peer !== undefined && viaDnsaddr.has(peer));
    },
    allow,
  };
}
