// For client/'s chain-following tests: a quorum across a change of node set,
// in memory, behind the client's NodeTransport. The old set N is the quorum
// fixture's five nodes (t = 3) holding one content published on N; the
// successor N+1 adds a sixth node (t' = 4) and holds that content
// redistributed with the real math (dealBatch by old nodes 1..3, commitBatch
// by every new node, the record assembled from their attestations). A forged
// successor (its predecessor consent signed by a key that is no admin of N)
// stands for a chain the client must never adopt.
//
// Each node (by PeerId, never by index) answers per the wire behaviour of a
// daemon around a cutover: a recover naming another set than the one it
// serves gets WRONG_NODE_SET, one addressed to another index WRONG_AUDIENCE;
// otherwise its share sealed to the request (with the sharing record when it
// serves N+1); `node-set` lists the signed files of the sets it served.
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  attestSharing,
  commitBatch,
  createNodeSetDocument,
  dealBatch,
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  manifestToCbor,
  peerIdFromEd25519PublicKey,
  recoverSealContext,
  requireNativeSuite,
  seal,
  serializeSignedNodeSet,
  signNodeSet,
  verifyRecoverRequestSignature,
  withAttestations,
  type CryptoSuite,
  type NodeEntry,
  type NodeSet,
  type RejectionCode,
  type SharingRecord,
} from '../../protocol/internal.ts';
import type { NodeRequestOptions, NodeTransport, ProtocolName } from '../../client/transport.ts';
import { sleep } from './memory-quorum.ts';
import {
  contentFixture,
  quorumFixture,
  seedBytes,
  sessionFixture,
  type ContentFixture,
  type QuorumFixture,
} from './protocol-fixture.ts';
import { freshNodeKeys, successorOf, type HandoverFixture } from './reshare-fixture.ts';

/** Which set a node serves: the old one, the genuine successor, or the forged one. */
export type Serving = 'old' | 'new' | 'forged' | 'down';

export interface ChainNode {
  readonly peerId: string;
  serving: Serving;
  /** Flips a bit of its share (a share off its record's polynomial, still signed as honest). */
  corruptShare: boolean;
  /** Replaces the record it sends while serving N+1 (undefined: sends none). */
  record: (genuine: SharingRecord) => SharingRecord | undefined;
  /** Answers after this many ms. */
  delayMs: number;
}

export interface ChainCall {
  readonly peerId: string;
  readonly protocol: ProtocolName;
  /** The set a recover request named (hex-free: compare with equalBytes). */
  readonly nodeSetId?: Uint8Array;
}

/** A successor of `old` whose predecessor consent is signed by a key that is no admin of `old`. */
function forgedSuccessor(suite: CryptoSuite, old: QuorumFixture): string {
  const forgedSeed = seedBytes(333, 64);
  const forgedAdmins = { threshold: 1, keys: [suite.hybrid.getPublicKey(forgedSeed)] };
  const keys = old.nodes;
  const document = createNodeSetDocument({
    epoch: old.nodeSet.epoch + 1,
    predecessor: old.nodeSet.id,
    threshold: 3,
    nodes: keys.map((k) => ({
      index: k.index,
      peerId: peerIdFromEd25519PublicKey(k.identity.publicKey),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${7300 + k.index}`],
      kemPublicKey: k.kemPublicKey,
    })),
    admins: forgedAdmins,
    params: old.nodeSet.params,
  });
  const admin = { index: 0, secretKey: forgedSeed };
  // signNodeSet signs only as an admin of the set it is told is the predecessor: tell it N has
  // the forger's key (same id and epoch), so the signature is well formed but N's admins never made it.
  const pretend = { ...old.nodeSet, admins: forgedAdmins };
  return serializeSignedNodeSet(
    document,
    [signNodeSet(suite, document, admin)],
    [signNodeSet(suite, document, admin, { predecessor: pretend })],
  );
}

/** UTF-8 bytes of a signed node-set file, as a node's `node-set` answer carries it. */
export function fileBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export class ChainWorld implements NodeTransport {
  readonly suite: CryptoSuite;
  readonly old: QuorumFixture;
  readonly next: HandoverFixture;
  readonly content: ContentFixture;
  /** The genuine sharing record of the content in N+1. */
  readonly record: SharingRecord;
  readonly forgedFile: string;
  readonly calls: ChainCall[] = [];
  readonly #nodes = new Map<string, ChainNode>();
  /** New node j's share at newShares[j - 1]. */
  readonly #newShares: readonly Uint8Array[];

  private constructor(fields: {
    suite: CryptoSuite;
    old: QuorumFixture;
    next: HandoverFixture;
    content: ContentFixture;
    record: SharingRecord;
    newShares: Uint8Array[];
  }) {
    this.suite = fields.suite;
    this.old = fields.old;
    this.next = fields.next;
    this.content = fields.content;
    this.record = fields.record;
    this.#newShares = fields.newShares;
    this.forgedFile = forgedSuccessor(this.suite, this.old);
    for (const node of this.next.handover.to.nodes)
      this.#nodes.set(node.peerId, {
        peerId: node.peerId,
        // The joining node serves only the successor; old members start on N.
        serving: this.oldIndexOf(node.peerId) === undefined ? 'new' : 'old',
        corruptShare: false,
        record: (genuine) => genuine,
        delayMs: 0,
      });
  }

  /** N (5 nodes, t = 3) with one content, and N+1 = N's nodes plus one (t' = 4) holding it redistributed. */
  static async create(): Promise<ChainWorld> {
    const suite = requireNativeSuite();
    const old = quorumFixture(suite, 5, 3);
    const publisher = await sessionFixture(suite, old.nodeSet);
    const content = contentFixture(suite, old.nodeSet, publisher);
    const next = successorOf(suite, old, [...old.nodes, freshNodeKeys(suite, 1)], 4);
    const { handover } = next;
    const source = {
      contentId: content.contentId,
      manifest: encodeCanonical(manifestToCbor(content.manifest)),
    };
    const dealers = [1, 2, 3];
    const batches = await Promise.all(
      dealers.map((d) =>
        dealBatch(suite, handover, { index: d, identity: old.nodes[d - 1]!.identity }, [
          { contentId: content.contentId, source, share: content.shares[d - 1]!.slice() },
        ]),
      ),
    );
    const outcomes = await Promise.all(
      next.newNodes.map(async (node, position) => {
        const [outcome] = await commitBatch(
          suite,
          handover,
          {
            index: node.index,
            kem: suite.xwing.decapsulator(node.kemSeed),
            identity: node.identity,
          },
          batches.map((b) => ({ ...b.dealing, sealed: b.sealed[position]! })),
          batches.flatMap((b) => b.sources),
          [{ contentId: content.contentId, dealers }],
        );
        if (outcome?.status !== 'ok') throw new Error('redistribution failed');
        return outcome;
      }),
    );
    const record = withAttestations(
      outcomes[0]!.body,
      outcomes.map((o) => o.attestation),
    );
    const newShares = outcomes.map((o) => o.share);
    return new ChainWorld({ suite, old, next, content, record, newShares });
  }

  get oldSet(): NodeSet {
    return this.old.nodeSet;
  }

  get newSet(): NodeSet {
    return this.next.handover.to;
  }

  /** The node with old index `index` (1..5) or, from 6 on, the joining node. */
  node(newIndex: number): ChainNode {
    const entry = this.newSet.node(newIndex);
    const node = entry === undefined ? undefined : this.#nodes.get(entry.peerId);
    if (node === undefined) throw new Error(`no node ${newIndex}`);
    return node;
  }

  /** Every node serves `serving` (old members only for 'old'/'forged'; the joiner always N+1). */
  moveAll(serving: Serving): void {
    for (const node of this.#nodes.values())
      if (this.oldIndexOf(node.peerId) !== undefined) node.serving = serving;
  }

  /**
   * The same record body with C'_0 replaced by another point (C'_1), attested
   * by every node of N+1: well signed, but not the publisher's secret.
   */
  recordWithOtherSecret(): SharingRecord {
    const [, c1, ...rest] = this.record.body.commitments;
    const body = { ...this.record.body, commitments: [c1!, c1!, ...rest] };
    return withAttestations(
      body,
      this.next.newNodes.map((k) => attestSharing(k.identity, k.index, body)),
    );
  }

  callsNaming(set: NodeSet): ChainCall[] {
    return this.calls.filter(
      (c) => c.nodeSetId !== undefined && this.suite.equalBytes(c.nodeSetId, set.id),
    );
  }

  oldIndexOf(peerId: string): number | undefined {
    return this.oldSet.nodes.find((n) => n.peerId === peerId)?.index;
  }

  async request(
    entry: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array> {
    const { signal } = options;
    signal.throwIfAborted();
    const node = this.#nodes.get(entry.peerId);
    if (node === undefined || node.serving === 'down') {
      this.calls.push({ peerId: entry.peerId, protocol });
      throw new Error('connection refused');
    }
    if (node.delayMs > 0) await sleep(node.delayMs, signal);
    if (protocol === 'reshare') {
      this.calls.push({ peerId: node.peerId, protocol });
      decodeMessage(body, MAX_FRAME_BYTES.reshare, ['node-set']);
      return encodeMessage({ type: 'node-set-ok', files: this.#files(node).map(fileBytes) });
    }
    if (protocol !== 'recover') throw new Error(`unexpected ${protocol}`);
    const message = decodeMessage(body, MAX_FRAME_BYTES.recover, ['recover']);
    const request = message.request.body;
    this.calls.push({ peerId: node.peerId, protocol, nodeSetId: request.nodeSetId });
    const reject = (code: RejectionCode): Uint8Array => encodeMessage({ type: 'reject', code });
    const set = this.#servedSet(node);
    if (set === undefined || !this.suite.equalBytes(request.nodeSetId, set.id))
      return reject(ErrorCode.WRONG_NODE_SET);
    const index = set.nodes.find((n) => n.peerId === node.peerId)?.index;
    if (index === undefined || request.node !== index) return reject(ErrorCode.WRONG_AUDIENCE);
    verifyRecoverRequestSignature(this.suite, message.request);
    const share = (node.serving === 'old' ? this.content.shares : this.#newShares)[index - 1]!;
    const bytes = share.slice();
    if (node.corruptShare) bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    const sealed = await seal(this.suite, request.recipientKey, recoverSealContext(request), bytes);
    const sharing = node.serving === 'new' ? node.record(this.record) : undefined;
    signal.throwIfAborted();
    return encodeMessage({ type: 'share', sealed, ...(sharing === undefined ? {} : { sharing }) });
  }

  #servedSet(node: ChainNode): NodeSet | undefined {
    if (node.serving === 'old') return this.oldSet;
    if (node.serving === 'new') return this.newSet;
    return undefined; // forged: it refuses every set the client can name
  }

  #files(node: ChainNode): string[] {
    if (node.serving === 'new') return [this.old.nodeSetFile, this.next.toFile];
    if (node.serving === 'forged') return [this.old.nodeSetFile, this.forgedFile];
    return [this.old.nodeSetFile];
  }
}
