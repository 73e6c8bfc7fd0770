// The sharing record (decision 0016): how a client trusts the Pedersen
// commitments of a content's sharing after a redistribution, once the
// publisher who signed the first ones is gone. The new commitments are
// derived from the old ones and the dealers' commitments; every node of the
// new set that verified its sub-shares and recomputed them signs
//   tag(SHARING_RECORD) || canonical CBOR of the record body
// with its node key (the Ed25519 key its PeerId names). A client accepts the
// commitments iff at least t distinct nodes of the set signed them and the
// commitment to the secret (commitments[0]) is the one the publisher signed:
// t colluding nodes could recover the key anyway, so this trusts nothing the
// threshold does not.
import { concatBytes } from './bytes.ts';
import { encodeCanonical, type CborValue } from './codec/cbor.ts';
import { readArray, readBytes, readLiteral, readMap, readUint } from './codec/read.ts';
import { ID_BYTES, MAX_NODES } from './constants.ts';
import { DomainTag, tagBytes, taggedHash } from './domain-tags.ts';
import { ErrorCode, QkmsError } from './errors.ts';
import { ED25519_LENGTHS, type CryptoSuite, type SigningKey } from './suite/types.ts';

/** Format version of the record (its `v`). */
export const SHARING_RECORD_VERSION = 1;
/** A ristretto255 point: a Pedersen commitment. */
export const COMMITMENT_BYTES = 32;

export interface SharingRecordBody {
  readonly contentId: Uint8Array;
  /** The node set that holds this sharing. */
  readonly nodeSetId: Uint8Array;
  /** Its threshold: the degree of the sharing plus one. */
  readonly threshold: number;
  /** C'_0..C'_{t-1}; C'_0 is the commitment to the secret, the same in every epoch. */
  readonly commitments: readonly Uint8Array[];
  /** Indexes in the previous set of the dealers whose sub-shares were combined, ascending. */
  readonly dealers: readonly number[];
  /** The previous node set, whose sharing this one was dealt from. */
  readonly previousNodeSetId: Uint8Array;
}

export interface SharingAttestation {
  /** The signing node's index in the record's node set. */
  readonly node: number;
  readonly signature: Uint8Array;
}

export interface SharingRecord {
  readonly body: SharingRecordBody;
  /** Ascending by node, no node twice. */
  readonly attestations: readonly SharingAttestation[];
}

/** What a record is checked against: the node set it names. */
export interface SharingRecordNodeSet {
  readonly id: Uint8Array;
  readonly threshold: number;
  node(index: number): { readonly nodePublicKey: Uint8Array } | undefined;
}

function invalid(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_SHARING_RECORD, `sharing record: ${message}`);
}

function bodyToCbor(body: SharingRecordBody): CborValue {
  return {
    v: SHARING_RECORD_VERSION,
    content: body.contentId,
    nodeSet: body.nodeSetId,
    t: body.threshold,
    commitments: [...body.commitments],
    dealers: [...body.dealers],
    previous: body.previousNodeSetId,
  };
}

export function sharingRecordToCbor(record: SharingRecord): CborValue {
  return {
    body: bodyToCbor(record.body),
    sigs: record.attestations.map((a) => ({ node: a.node, sig: a.signature })),
  };
}

function ascendingDistinct(values: readonly number[], field: string): void {
  for (let i = 1; i < values.length; i++)
    if ((values[i] ?? 0) <= (values[i - 1] ?? 0))
      throw invalid(`${field} must be ascending with no repeats`);
}

/** Strict reader: exact keys, lengths and ranges; throws MALFORMED or INVALID_SHARING_RECORD. */
export function sharingRecordFromCbor(value: unknown, field = 'sharingRecord'): SharingRecord {
  const m = readMap(value, field, ['body', 'sigs']);
  const b = readMap(m['body'], `${field}.body`, [
    'v',
    'content',
    'nodeSet',
    't',
    'commitments',
    'dealers',
    'previous',
  ]);
  readLiteral(b['v'], `${field}.body.v`, [SHARING_RECORD_VERSION]);
  const threshold = readUint(b['t'], `${field}.body.t`, 1, MAX_NODES);
  const commitments = readArray(b['commitments'], `${field}.body.commitments`, MAX_NODES, 1).map(
    (c, i) => readBytes(c, `${field}.body.commitments[${i}]`, COMMITMENT_BYTES),
  );
  if (commitments.length !== threshold)
    throw invalid(`${commitments.length} commitments for a threshold of ${threshold}`);
  const dealers = readArray(b['dealers'], `${field}.body.dealers`, MAX_NODES, 1).map((d, i) =>
    readUint(d, `${field}.body.dealers[${i}]`, 1, MAX_NODES),
  );
  ascendingDistinct(dealers, 'dealers');
  const attestations = readArray(m['sigs'], `${field}.sigs`, MAX_NODES, 1).map((s, i) => {
    const a = readMap(s, `${field}.sigs[${i}]`, ['node', 'sig']);
    return {
      node: readUint(a['node'], `${field}.sigs[${i}].node`, 1, MAX_NODES),
      signature: readBytes(a['sig'], `${field}.sigs[${i}].sig`, ED25519_LENGTHS.signature),
    };
  });
  ascendingDistinct(
    attestations.map((a) => a.node),
    'sigs',
  );
  return {
    body: {
      contentId: readBytes(b['content'], `${field}.body.content`, ID_BYTES),
      nodeSetId: readBytes(b['nodeSet'], `${field}.body.nodeSet`, ID_BYTES),
      threshold,
      commitments,
      dealers,
      previousNodeSetId: readBytes(b['previous'], `${field}.body.previous`, ID_BYTES),
    },
    attestations,
  };
}

function signingBytes(body: SharingRecordBody): Uint8Array {
  return concatBytes(tagBytes(DomainTag.SHARING_RECORD), encodeCanonical(bodyToCbor(body)));
}

/** A node's attestation: it verified its sub-shares of this content and recomputed these commitments. */
export function attestSharing(
  nodeKey: SigningKey,
  node: number,
  body: SharingRecordBody,
): SharingAttestation {
  return { node, signature: nodeKey.sign(signingBytes(body)) };
}

/**
 * bodyHash = SHA-256(SHARING_RECORD_HASH tag || canonical CBOR of the body): names a sharing
 * whatever attestations travel with it (reshare-status compares holders by it).
 */
export function sharingBodyHash(suite: CryptoSuite, body: SharingRecordBody): Uint8Array {
  return taggedHash(suite.sha256, DomainTag.SHARING_RECORD_HASH, encodeCanonical(bodyToCbor(body)));
}

/** Whether `attestation` is a valid signature over `body` by the node it names in `nodeSet`. */
export function attestationVerifies(
  suite: CryptoSuite,
  nodeSet: SharingRecordNodeSet,
  body: SharingRecordBody,
  attestation: SharingAttestation,
): boolean {
  const node = nodeSet.node(attestation.node);
  return (
    node !== undefined &&
    suite.ed25519.verify(attestation.signature, signingBytes(body), node.nodePublicKey)
  );
}

/** The record with `attestations` merged in node order (a node's later attestation replaces its earlier one). */
export function withAttestations(
  body: SharingRecordBody,
  attestations: readonly SharingAttestation[],
): SharingRecord {
  const byNode = new Map(attestations.map((a) => [a.node, a]));
  return { body, attestations: [...byNode.values()].sort((a, b) => a.node - b.node) };
}

/**
 * Checks a record against the node set it names and the publisher's commitment to the secret:
 * its set and threshold, its first commitment, and at least t valid signatures of distinct nodes
 * of the set. Throws INVALID_SHARING_RECORD naming the first failure; returns the commitments.
 */
export function verifySharingRecord(
  suite: CryptoSuite,
  record: SharingRecord,
  nodeSet: SharingRecordNodeSet,
  secretCommitment: Uint8Array,
): readonly Uint8Array[] {
  const { body } = record;
  if (!suite.equalBytes(body.nodeSetId, nodeSet.id)) throw invalid('it names another node set');
  if (body.threshold !== nodeSet.threshold)
    throw invalid(`threshold ${body.threshold}, the node set's is ${nodeSet.threshold}`);
  if (body.commitments.length !== body.threshold)
    throw invalid(`${body.commitments.length} commitments for a threshold of ${body.threshold}`);
  const first = body.commitments[0];
  if (first === undefined || !suite.equalBytes(first, secretCommitment))
    throw invalid('its commitment to the secret is not the one the publisher signed');
  const message = signingBytes(body);
  const signers = new Set<number>();
  for (const a of record.attestations) {
    const node = nodeSet.node(a.node);
    if (node === undefined) throw invalid(`node ${a.node} is not in the node set`);
    if (signers.has(a.node)) throw invalid(`node ${a.node} signed twice`);
    if (!suite.ed25519.verify(a.signature, message, node.nodePublicKey))
      throw invalid(`node ${a.node}'s signature does not verify`);
    signers.add(a.node);
  }
  if (signers.size < nodeSet.threshold)
    throw invalid(`${signers.size} node signatures, the threshold is ${nodeSet.threshold}`);
  return body.commitments;
}
