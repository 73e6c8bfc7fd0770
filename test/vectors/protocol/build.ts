// Builds the protocol test vectors from fixed seeds (test/support/protocol-fixture.ts).
// Everything deterministic is recomputed by protocol/vectors.test.ts and must
// match vectors.json byte for byte. HPKE seals and ML-DSA admin signatures are
// randomized: their bytes are generated once (generate.ts) and checked by
// opening / verifying them.
import {
  encodeCanonical,
  encodeMessage,
  manifestHash,
  manifestToCbor,
  open,
  publishSealContext,
  recoverSealContext,
  requireNativeSuite,
  seal,
  signReceipt,
  signRecoverRequest,
  toHex,
  delegationHash,
  fromHex,
  attestSharing,
  cutoverSigningBytes,
  decodeCutoverRecord,
  encodeCutoverRecord,
  parseSignedNodeSetJson,
  sharingBodyHash,
  sharingRecordToCbor,
  signCutover,
  verifyCutover,
  verifyNodeSetChain,
  withAttestations,
  verifySharingRecord,
  commitBatch,
  dealBatch,
  decodeCanonical,
  decodeMessage,
  signTicket,
  type CryptoSuite,
  type Handover,
  type Manifest,
  type SharingSource,
  type CutoverBody,
  type Sealed,
  type SharingRecordBody,
} from '../../../protocol/internal.ts';
import { ticketFromCbor, ticketToCbor } from '../../../protocol/reshare/ticket.ts';
import { freshNodeKeys, successorOf } from '../../support/reshare-fixture.ts';
import type { NodeKeys } from '../../support/protocol-fixture.ts';
import { PROTOCOL_VERSION } from '../../../protocol/constants.ts';
import { nodeSetCanonicalBytes } from '../../../protocol/node-set/index.ts';
import { requestSigningBytes } from '../../../protocol/grant/request.ts';
import {
  contentFixture,
  FIXTURE_TIME,
  quorumFixture,
  seedBytes,
  sessionFixture,
  WALLET_PRIVATE_KEY,
} from '../../support/protocol-fixture.ts';

export interface SealedVector {
  readonly enc: string;
  readonly ct: string;
}

export interface RandomizedParts {
  readonly nodeSetFile: string;
  /** The successor's file (decision 0017): admin and predecessor signatures are ML-DSA, randomized. */
  readonly successorFile: string;
  /** encodeCutoverRecord of the admin's record, hex. */
  readonly cutoverRecord: string;
  /** The admin's reshare ticket (canonical CBOR, hex): ML-DSA, randomized. */
  readonly ticket: string;
  /** Old nodes 1, 2 and 3's `reshare-dealt` answers for the vector content (hex): random polynomials and seals. */
  readonly dealt: readonly string[];
  readonly recoverSeal: SealedVector;
  readonly publishSeal: SealedVector;
}

const hexSealed = (s: Sealed): SealedVector => ({ enc: toHex(s.enc), ct: toHex(s.ciphertext) });
const fromSealed = (s: SealedVector): Sealed => ({ enc: fromHex(s.enc), ciphertext: fromHex(s.ct) });

/** Fresh randomized parts: seals and the admin-signed node-set file. */
export async function randomizedParts(suite: CryptoSuite = requireNativeSuite()): Promise<RandomizedParts> {
  const w = await world(suite);
  const next = successorOf(suite, w.quorum, [...w.quorum.nodes, freshNodeKeys(suite, 6)], 4);
  const source = sourceOf(w.content);
  const dealt = await Promise.all(
    [1, 2, 3].map(async (d) => {
      const keys = w.quorum.nodes[d - 1]!;
      const batch = await dealBatch(suite, next.handover, { index: d, identity: keys.identity }, [
        { contentId: w.content.contentId, source, share: w.content.shares[d - 1]!.slice() },
      ]);
      return toHex(encodeMessage({ type: 'reshare-dealt', ...batch }));
    }),
  );
  const ticket = signTicket(
    { position: 0, key: suite.hybrid.signer(w.quorum.adminSeed) },
    { from: w.quorum.nodeSet.id, to: next.handover.to.id, notAfter: FIXTURE_TIME + 86_400_000 },
  );
  return {
    ticket: toHex(encodeCanonical(ticketToCbor(ticket))),
    dealt,
    nodeSetFile: w.quorum.nodeSetFile,
    successorFile: next.toFile,
    cutoverRecord: toHex(
      encodeCutoverRecord(
        signCutover(suite, w.quorum.nodeSet.admins, cutoverBody(w.quorum.nodeSet.id, next.handover.to.id), [
          w.quorum.adminSeed,
        ]),
      ),
    ),
    recoverSeal: hexSealed(await seal(suite, w.player.kemPublicKey, recoverSealContext(w.request.body), w.content.shares[1]!)),
    publishSeal: hexSealed(
      await seal(suite, w.quorum.nodes[0]!.kemPublicKey, publishSealContext(w.content.manifest.body, 1), w.content.shares[0]!),
    ),
  };
}

function sourceOf(content: { contentId: Uint8Array; manifest: Manifest }): SharingSource {
  return { contentId: content.contentId, manifest: encodeCanonical(manifestToCbor(content.manifest)) };
}

/**
 * The rest of the handover from the random parts: every new node commits the
 * three dealings (the coordinator's reshare-commit), the complete record, and
 * the list, record and status exchanges around them. Deterministic: the new
 * shares follow from the seals, and node attestations are Ed25519.
 */
async function dealingVectors(
  suite: CryptoSuite,
  random: RandomizedParts,
  handover: Handover,
  newNodes: readonly NodeKeys[],
  content: { contentId: Uint8Array; manifest: Manifest },
) {
  const ticket = ticketFromCbor(decodeCanonical(fromHex(random.ticket), 1 << 16));
  const utf8 = new TextEncoder();
  const envelope = { ticket, from: utf8.encode(random.nodeSetFile), to: utf8.encode(random.successorFile) };
  const dealt = random.dealt.map((hex) => decodeMessage(fromHex(hex), 1 << 24, ['reshare-dealt']));
  const sources = [sourceOf(content)];
  const choose = [{ contentId: content.contentId, dealers: [1, 2, 3] }];
  const commits = await Promise.all(
    newNodes.map(async (node, position) => {
      const dealings = dealt.map((d) => ({ ...d.dealing, sealed: d.sealed[position]! }));
      const [outcome] = await commitBatch(
        suite,
        handover,
        { index: node.index, kem: suite.xwing.decapsulator(node.kemSeed), identity: node.identity },
        dealings,
        sources,
        choose,
      );
      if (outcome?.status !== 'ok') throw new Error(`vectors: new node ${node.index} did not commit`);
      return { node: node.index, dealings, outcome };
    }),
  );
  const body = commits[0]!.outcome.body;
  const record = withAttestations(
    body,
    commits.map((c) => c.outcome.attestation),
  );
  // A vector that does not verify is not written: the record against the successor and C_0.
  verifySharingRecord(suite, record, handover.to, content.manifest.body.commitments[0]!);
  const recordBytes = encodeCanonical(sharingRecordToCbor(record));
  return {
    about:
      'a handover of the vector content to the successor: old nodes 1, 2, 3 deal (dealt: random parts, ' +
      'verify by committing), each new node commits them, and the coordinator completes the record.',
    ticket: random.ticket,
    reshareList: toHex(encodeMessage({ type: 'reshare-list', ...envelope, after: new Uint8Array(0) })),
    reshareListOk: toHex(encodeMessage({ type: 'reshare-list-ok', contents: [content.contentId], more: false })),
    reshareDeal: toHex(encodeMessage({ type: 'reshare-deal', ...envelope, contents: [content.contentId] })),
    reshareDealt: random.dealt,
    reshareCommitToNode1: toHex(
      encodeMessage({ type: 'reshare-commit', ...envelope, dealings: commits[0]!.dealings, sources, choose }),
    ),
    newShares: commits.map((c) => ({ node: c.node, share: toHex(c.outcome.share) })),
    reshareCommitted: commits.map((c) =>
      toHex(
        encodeMessage({
          type: 'reshare-committed',
          node: c.node,
          results: [{ contentId: content.contentId, status: 'ok', signature: c.outcome.attestation.signature }],
        }),
      ),
    ),
    newCommitments: body.commitments.map((c) => toHex(c)),
    sharingRecord: toHex(recordBytes),
    sharingBodyHash: toHex(sharingBodyHash(suite, body)),
    reshareRecord: toHex(encodeMessage({ type: 'reshare-record', ...envelope, records: [recordBytes] })),
    reshareRecordOk: toHex(
      encodeMessage({ type: 'reshare-record-ok', results: [{ contentId: content.contentId, status: 'held' }] }),
    ),
    reshareStatus: toHex(encodeMessage({ type: 'reshare-status', ...envelope, contents: [content.contentId] })),
    reshareStatusOk: toHex(encodeMessage({ type: 'reshare-status-ok', held: [sharingBodyHash(suite, body)] })),
  };
}

function cutoverBody(from: Uint8Array, to: Uint8Array): CutoverBody {
  return { from, to, at: FIXTURE_TIME + 60_000 };
}

async function world(suite: CryptoSuite) {
  const quorum = quorumFixture(suite);
  const player = await sessionFixture(suite, quorum.nodeSet);
  const content = contentFixture(suite, quorum.nodeSet, player);
  const request = signRecoverRequest(suite, player.session, {
    nodeSetId: quorum.nodeSet.id,
    node: 2,
    contentId: content.contentId,
    issuedAt: FIXTURE_TIME + 5000,
    recipientKey: player.kemPublicKey,
    delegationHash: delegationHash(suite, player.delegation),
    nonce: seedBytes(1000, 16),
  });
  return { quorum, player, content, request };
}

/** The whole vector document. Seals are opened here: a vector that does not open is not written. */
export async function buildVectors(random: RandomizedParts, suite: CryptoSuite = requireNativeSuite()) {
  const { quorum, player, content, request } = await world(suite);
  const { nodeSet } = quorum;
  const recoverSeal = fromSealed(random.recoverSeal);
  const publishSeal = fromSealed(random.publishSeal);
  const recoverContext = recoverSealContext(request.body);
  const publishContext = publishSealContext(content.manifest.body, 1);
  const openedRecover = await open(suite, player.kemSeed, recoverContext, recoverSeal);
  const openedPublish = await open(suite, quorum.nodes[0]!.kemSeed, publishContext, publishSeal);
  const receipt = signReceipt(quorum.nodes[1]!.identity, {
    version: PROTOCOL_VERSION,
    nodeSetId: nodeSet.id,
    node: 2,
    contentId: content.contentId,
    manifestHash: manifestHash(suite, content.manifest),
    status: 'stored',
    at: FIXTURE_TIME + 2000,
  });
  const document = (JSON.parse(random.nodeSetFile) as { document: unknown }).document;
  const successor = verifyNodeSetChain(suite, parseSignedNodeSetJson(suite, random.nodeSetFile), [
    JSON.parse(random.successorFile) as unknown,
  ]);
  const newNodes = [...quorum.nodes, { ...freshNodeKeys(suite, 6), index: 6 }];
  // An encoding and signature vector, not a real redistribution: C'_0 is the manifest's C_0.
  const sharingBody: SharingRecordBody = {
    contentId: content.contentId,
    nodeSetId: successor.id,
    threshold: 4,
    commitments: [...content.manifest.body.commitments, content.manifest.body.commitments[1]!],
    dealers: [1, 2, 4],
    previousNodeSetId: nodeSet.id,
  };
  const sharing = withAttestations(
    sharingBody,
    [1, 3, 5, 6].map((j) => attestSharing(newNodes[j - 1]!.identity, j, sharingBody)),
  );
  const cutover = cutoverBody(nodeSet.id, successor.id);
  const record = decodeCutoverRecord(suite, fromHex(random.cutoverRecord));
  verifyCutover(suite, record, { from: nodeSet.id, to: successor.id, admins: nodeSet.admins });
  const utf8 = new TextEncoder();
  const files = [utf8.encode(random.nodeSetFile), utf8.encode(random.successorFile)];
  return {
    about:
      'qkms protocol v1 test vectors (docs/protocol.md). Generated by test/vectors/protocol/generate.ts from fixed seeds; ' +
      'checked by protocol/vectors.test.ts. Hex is lower case; times are ms since the Unix epoch.',
    nodeSet: {
      nodes: quorum.nodes.map((k) => ({
        index: k.index,
        ed25519Seed: toHex(k.identitySeed),
        xwingSeed: toHex(k.kemSeed),
        ed25519PublicKey: toHex(k.identity.publicKey),
      })),
      adminHybridSeed: toHex(quorum.adminSeed),
      file: random.nodeSetFile,
      canonicalDocument: toHex(nodeSetCanonicalBytes(document)),
      nodeSetId: toHex(nodeSet.id),
    },
    delegation: {
      walletPrivateKey: WALLET_PRIVATE_KEY,
      walletAddress: player.wallet.address,
      sessionEd25519Seed: toHex(player.sessionSeed),
      sessionXWingSeed: toHex(player.kemSeed),
      message: player.delegation.message,
      signature: toHex(player.delegation.signature),
      delegationHash: toHex(delegationHash(suite, player.delegation)),
    },
    recoverRequest: {
      nonce: toHex(request.body.nonce),
      issuedAt: request.body.issuedAt,
      node: request.body.node,
      signingBytes: toHex(requestSigningBytes(request.body)),
      signature: toHex(request.signature),
      message: toHex(encodeMessage({ type: 'recover', request, delegation: player.delegation })),
      sealInfo: toHex(recoverContext.info),
      sealAad: toHex(recoverContext.aad),
    },
    recoverSeal: { ...random.recoverSeal, share: toHex(openedRecover), message: toHex(encodeMessage({ type: 'share', sealed: recoverSeal })) },
    manifest: {
      cek: toHex(content.cek),
      contentId: toHex(content.contentId),
      shares: content.shares.map((s) => toHex(s)),
      salt: toHex(content.manifest.body.salt),
      cekCommitment: toHex(content.manifest.body.cekCommitment),
      keyScalar: toHex(content.keyScalar),
      commitments: content.manifest.body.commitments.map((c) => toHex(c)),
      wrappedCek: toHex(content.manifest.body.wrappedCek),
      signature: toHex(content.manifest.signature),
      canonical: toHex(encodeCanonical(manifestToCbor(content.manifest))),
      manifestHash: toHex(manifestHash(suite, content.manifest)),
    },
    publishSeal: {
      node: 1,
      ...random.publishSeal,
      share: toHex(openedPublish),
      sealInfo: toHex(publishContext.info),
      sealAad: toHex(publishContext.aad),
      message: toHex(encodeMessage({ type: 'publish', manifest: content.manifest, sealed: publishSeal })),
    },
    receipt: {
      signature: toHex(receipt.signature),
      message: toHex(encodeMessage({ type: 'receipt', receipt })),
    },
    handover: {
      about:
        'decision 0017: the successor (nodes 1-5 and a sixth, t = 4, epoch 2), a sharing record of the manifest ' +
        "content for it (attested by new nodes 1, 3, 5, 6; an encoding vector: C'_0 is the manifest's C_0, the other " +
        'commitments are not a real redistribution), the cutover record, and the messages that carry them.',
      node6Ed25519Seed: toHex(newNodes[5]!.identitySeed),
      node6XWingSeed: toHex(newNodes[5]!.kemSeed),
      successorFile: random.successorFile,
      successorId: toHex(successor.id),
      sharingRecord: toHex(encodeCanonical(sharingRecordToCbor(sharing))),
      sharingBodyHash: toHex(sharingBodyHash(suite, sharingBody)),
      shareWithSharing: toHex(encodeMessage({ type: 'share', sealed: recoverSeal, sharing })),
      cutoverSigningBytes: toHex(cutoverSigningBytes(cutover)),
      cutoverRecord: random.cutoverRecord,
      reshareCutover: toHex(
        encodeMessage({
          type: 'reshare-cutover',
          record: fromHex(random.cutoverRecord),
          from: files[0]!,
          to: files[1]!,
          ancestors: [],
        }),
      ),
      reshareCutoverOk: toHex(encodeMessage({ type: 'reshare-cutover-ok', state: 'serving' })),
      nodeSet: toHex(encodeMessage({ type: 'node-set' })),
      nodeSetOk: toHex(encodeMessage({ type: 'node-set-ok', files })),
      dealing: await dealingVectors(suite, random, { from: nodeSet, to: successor }, newNodes, content),
    },
    messages: {
      info: toHex(encodeMessage({ type: 'info' })),
      infoOk: toHex(
        encodeMessage({ type: 'info-ok', info: { nodeSetId: nodeSet.id, node: 2, versions: [PROTOCOL_VERSION], software: 'qkms/0.1.0' } }),
      ),
      rejectReplayed: toHex(encodeMessage({ type: 'reject', code: 'REPLAYED' })),
      rejectVersion: toHex(encodeMessage({ type: 'reject', code: 'UNSUPPORTED_VERSION', versions: [PROTOCOL_VERSION] })),
    },
  };
}
