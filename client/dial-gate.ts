// What a client's libp2p host may dial: the pinned node set's addresses and
// nothing else. Said explicitly because libp2p's browser default refuses
// every `ws://` and every private address (loopback, LAN), so a page could
// not reach a local or intranet quorum, while its Node default allows
// everything.
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { NodeSet } from '../protocol/internal.ts';

/**
 * A libp2p connection gater that denies every address the node set does not
 * list. libp2p resolves a `/dnsaddr` before it asks the gater, so for a node
 * that lists one, any address carrying that node's PeerId is let through
 * (Noise then proves the PeerId, as on every dial).
 */
export function dialOnlyNodeSet(nodeSet: NodeSet): {
  denyDialMultiaddr: (ma: Multiaddr) => boolean;
} {
  const bare = (ma: Multiaddr): string => ma.decapsulateCode(CODE_P2P).toString();
  const allowed = new Set(
    nodeSet.nodes.flatMap((n) => n.multiaddrs.map((t) => bare(multiaddr(t)))),
  );
  const viaDnsaddr = new Set(
    nodeSet.nodes
      .filter((n) => n.multiaddrs.some((t) => t.startsWith('/dnsaddr/')))
      .map((n) => n.peerId),
  );
  const peerOf = (ma: Multiaddr): string | undefined =>
    ma.getComponents().findLast((c) => c.code === CODE_P2P)?.value;
  return {
    denyDialMultiaddr: (ma) => {
      if (allowed.has(bare(ma))) return false;
      const peer = peerOf(ma);
      return !(peer !== undefined && viaDnsaddr.has(peer));
    },
  };
}
