// `qkms audit verify --against-peers`: asks every peer of the node set, on
// /qkms/info ('audit-witness'), for the latest audit head of THIS node it
// witnessed (docs/decisions/0010), and checks each against the local chain.
// The statements are signed by this node's own identity key and are checked
// here against it, so a peer can report an old head or none, but cannot make
// one up. The node's own copy of what peers witnessed (DIR/audit-witness.cbor)
// is not used: a rollback of the data directory would roll it back too.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import {
  MAX_FRAME_BYTES,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  verifyAuditHead,
  type CryptoSuite,
  type NodeSet,
  type SignedAuditHead,
} from '../../protocol/index.ts';
import { requestOnce } from '../../node/index.ts';

/** Per peer: the whole exchange, dial included. */
const PEER_TIMEOUT_MS = 5_000;
const INFO_PROTOCOL = '/qkms/info/1';

/** What one peer said about this node's head. */
export type PeerWitness =
  | { readonly peer: number; readonly outcome: 'unreachable' }
  | { readonly peer: number; readonly outcome: 'refused'; readonly code: string }
  | { readonly peer: number; readonly outcome: 'none' }
  /** The statement does not verify under this node's key, or names another node or node set. */
  | { readonly peer: number; readonly outcome: 'invalid' }
  | { readonly peer: number; readonly outcome: 'witnessed'; readonly head: SignedAuditHead };

/** Asks each peer of `self` in the node set, all at once. */
export async function askPeers(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  self: { readonly index: number; readonly publicKey: Uint8Array },
): Promise<PeerWitness[]> {
  const libp2p = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  try {
    const request = encodeMessage({ type: 'audit-witness', node: self.index });
    return await Promise.all(
      nodeSet.nodes
        .filter((n) => n.index !== self.index)
        .map(async (node): Promise<PeerWitness> => {
          const peer = node.index;
          let reply: Uint8Array | undefined;
          for (const address of node.multiaddrs) {
            try {
              reply = await requestOnce(
                libp2p,
                multiaddr(`${address}/p2p/${node.peerId}`),
                INFO_PROTOCOL,
                request,
                {
                  signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
                  maxReplyBytes: MAX_FRAME_BYTES.info,
                },
              );
              break;
            } catch {
              // the next address, if any
            }
          }
          if (reply === undefined) return { peer, outcome: 'unreachable' };
          let answer;
          try {
            answer = decodeMessage(reply, MAX_FRAME_BYTES.info, ['audit-witness-ok', 'reject']);
          } catch (e) {
            return { peer, outcome: 'refused', code: isQkmsError(e) ? e.code : 'MALFORMED' };
          }
          if (answer.type === 'reject') return { peer, outcome: 'refused', code: answer.code };
          const head = answer.witnessed;
          if (head === undefined) return { peer, outcome: 'none' };
          const valid =
            head.body.node === self.index &&
            suite.equalBytes(head.body.nodeSetId, nodeSet.id) &&
            verifyAuditHead(suite, head, self.publicKey);
          return valid ? { peer, outcome: 'witnessed', head } : { peer, outcome: 'invalid' };
        }),
    );
  } finally {
    await libp2p.stop();
  }
}
