// What a client's libp2p host may dial: the pinned node set's addresses and
// nothing else. Said explicitly because libp2p's browser default refuses
// every `ws://` and every private address (loopback, LAN), so a page could
// not reach a local or intranet quorum, while its Node default allows
// everything.
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { NodeSet } from '../protocol/internal.ts';

/** A libp2p connection gater that denies every address the node set does not list. */
export function dialOnlyNodeSet(nodeSet: NodeSet): {
  denyDialMultiaddr: (ma: Multiaddr) => boolean;
} {
  const bare = (ma: Multiaddr): string => ma.decapsulateCode(CODE_P2P).toString();
  const allowed = new Set(
    nodeSet.nodes.flatMap((n) => n.multiaddrs.map((t) => bare(multiaddr(t)))),
  );
  return { denyDialMultiaddr: (ma) => !allowed.has(bare(ma)) };
}
