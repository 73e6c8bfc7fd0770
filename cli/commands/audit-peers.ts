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
  METHODS,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  parseSignedNodeSetJson,
  peerIdFromEd25519PublicKey,
  verifyAuditHead,
  type CryptoSuite,
  type NodeSet,
  type SignedAuditHead,
} from '../../protocol/internal.ts';
import { decodeAuditRecord, requestOnce, type NodeStore } from '../../node/index.ts';
import { configError } from '../io.ts';

/** Per peer: the whole exchange, dial included. */
const PEER_TIMEOUT_MS = 5_000;
const INFO = METHODS.info;

/** The snapshot of this node's log that `audit verify` opened, and the node's identity key. */
export interface AuditSnapshot {
  readonly store: NodeStore;
  readonly publicKey: Uint8Array;
}

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
                INFO.protocol,
                request,
                {
                  signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
                  maxReplyBytes: INFO.maxReplyBytes,
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
            answer = decodeMessage(reply, INFO.maxReplyBytes, INFO.exchanges['audit-witness']);
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

/** What --against-peers found: verdict, the witnesses it is behind, and its JSON and text lines. */
export interface PeersReport {
  readonly ok: boolean;
  /** The witnesses whose head this log does not hold. */
  readonly behind: readonly { peer: number; witnessedSeq: number; problem: string }[];
  readonly json: readonly Record<string, unknown>[];
  readonly lines: readonly string[];
}

/** The hash of the snapshot's record at `seq`, or undefined if it has none (or it does not read). */
async function hashAt(opened: AuditSnapshot, seq: number): Promise<Uint8Array | undefined> {
  for await (const entry of opened.store.auditEntries(seq, { limit: 1 })) {
    if (entry.seq !== seq || 'corrupt' in entry) return undefined;
    try {
      return decodeAuditRecord(entry.value).hash;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Each peer's witnessed head of this node against the local chain, whose
 * verified head is `ownSeq`: a witnessed head past it, or another hash at its
 * seq, means the log lost records this node had signed.
 */
export async function checkAgainstPeers(
  suite: CryptoSuite,
  nodeSetText: string,
  opened: AuditSnapshot,
  ownSeq: number,
): Promise<PeersReport> {
  const nodeSet = parseSignedNodeSetJson(suite, nodeSetText);
  const peerId = peerIdFromEd25519PublicKey(opened.publicKey);
  const self = nodeSet.nodes.find((n) => n.peerId === peerId);
  if (self === undefined) throw configError('--nodeset: this node is not in it');
  const answers: PeerWitness[] = await askPeers(suite, nodeSet, {
    index: self.index,
    publicKey: opened.publicKey,
  });
  const behind: { peer: number; witnessedSeq: number; problem: string }[] = [];
  const json: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const a of answers) {
    if (a.outcome !== 'witnessed') {
      json.push({
        peer: a.peer,
        outcome: a.outcome,
        ...(a.outcome === 'refused' ? { code: a.code } : {}),
      });
      lines.push(
        `node ${a.peer}: ${a.outcome === 'refused' ? `refused (${a.code})` : a.outcome === 'none' ? 'has witnessed no head of this node' : a.outcome === 'invalid' ? "sent a head that does not verify under this node's key (ignored)" : 'unreachable'}`,
      );
      continue;
    }
    const { seq, hash, at } = a.head.body;
    let problem: string | undefined;
    if (seq > ownSeq) problem = 'behind';
    else if (seq > 0) {
      const own = await hashAt(opened, seq);
      if (own === undefined || !suite.equalBytes(own, hash)) problem = 'forked';
    }
    json.push({ peer: a.peer, outcome: 'witnessed', seq, at, ok: problem === undefined });
    if (problem === undefined) {
      lines.push(`node ${a.peer}: witnessed head ${seq}: held`);
    } else {
      behind.push({ peer: a.peer, witnessedSeq: seq, problem });
      lines.push(
        problem === 'behind'
          ? `node ${a.peer}: witnessed head ${seq} (${new Date(at).toISOString()}), but this log ends at ${ownSeq}: ROLLED BACK`
          : `node ${a.peer}: witnessed head ${seq} (${new Date(at).toISOString()}), but this log holds another record there: FORKED`,
      );
    }
  }
  const answered = answers.filter((a) => a.outcome === 'witnessed' || a.outcome === 'none').length;
  if (answers.length > 0 && answered === 0)
    lines.push('no peer answered: the log was not checked against peers');
  else if (answers.length === 0) lines.push('no peers in the node set: nothing to check against');
  return {
    ok: behind.length === 0 && (answers.length === 0 || answered > 0),
    behind,
    json,
    lines,
  };
}
