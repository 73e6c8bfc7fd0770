// A handover's world for tests: the quorum fixture's 5-node set (t = 3) as
// the old set, and a successor built from a chosen list of node keys (old
// nodes, fresh ones) with its own threshold, signed by the same admin for
// both its own signatures and its predecessor's.
import {
  createNodeSetDocument,
  serializeSignedNodeSet,
  signNodeSet,
  verifyNodeSetChain,
} from '../../protocol/node-set/index.ts';
import type { NodeSet } from '../../protocol/node-set/types.ts';
import { peerIdFromEd25519PublicKey } from '../../protocol/peer-id.ts';
import type { Handover } from '../../protocol/reshare/dealing.ts';
import type { CryptoSuite } from '../../protocol/suite/types.ts';
import { seedBytes, type NodeKeys, type QuorumFixture } from './protocol-fixture.ts';

/** Keys for a node no earlier set held, from label `label`. */
export function freshNodeKeys(suite: CryptoSuite, label: number): Omit<NodeKeys, 'index'> {
  const identitySeed = seedBytes(1000 + label, 32);
  const kemSeed = seedBytes(1100 + label, 32);
  return {
    identity: suite.ed25519.signer(identitySeed),
    identitySeed,
    kemSeed,
    kemPublicKey: suite.xwing.keygen(kemSeed).publicKey,
  };
}

export interface HandoverFixture {
  readonly handover: Handover;
  /** The successor's signed file. */
  readonly toFile: string;
  /** New node j's keys at newNodes[j - 1]. */
  readonly newNodes: readonly NodeKeys[];
}

/** A successor of `old` holding `members` (in index order) with threshold `threshold`. */
export function successorOf(
  suite: CryptoSuite,
  old: QuorumFixture,
  members: readonly Omit<NodeKeys, 'index'>[],
  threshold: number,
): HandoverFixture {
  const newNodes = members.map((k, i): NodeKeys => ({ ...k, index: i + 1 }));
  const document = createNodeSetDocument({
    epoch: old.nodeSet.epoch + 1,
    predecessor: old.nodeSet.id,
    threshold,
    nodes: newNodes.map((k) => ({
      index: k.index,
      peerId: peerIdFromEd25519PublicKey(k.identity.publicKey),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${7200 + k.index}`],
      kemPublicKey: k.kemPublicKey,
    })),
    admins: old.nodeSet.admins,
    params: old.nodeSet.params,
  });
  const admin = { index: 0, secretKey: old.adminSeed };
  const toFile = serializeSignedNodeSet(
    document,
    [signNodeSet(suite, document, admin)],
    [signNodeSet(suite, document, admin, { predecessor: old.nodeSet })],
  );
  const to: NodeSet = verifyNodeSetChain(suite, old.nodeSet, [JSON.parse(toFile)]);
  return { handover: { from: old.nodeSet, to }, toFile, newNodes };
}
