// A node's signed audit head statement: "my custody audit log's last record
// is `seq`, with hash `hash`, as of `at`", signed by the node's libp2p
// Ed25519 identity key (the key its PeerId in the node set names). Nodes send
// theirs to each peer with every anti-entropy round and keep the latest one
// each peer sent (docs/decisions/0010-audit-witness.md), so a node whose log
// lost its tail is caught by what its peers witnessed — the rollback defence
// of Certificate Transparency gossip.
//
//   body = { v, nodeSet, node, seq, hash, at }            canonical CBOR
//   sig  = Ed25519(node key, tag(AUDIT_HEAD) || body)
//   on the wire and on disk: { head: body, sig }
// seq 0 is an empty log (hash: 32 zero bytes).
//
// The four messages that carry it (docs/protocol.md §8):
//   on /qkms/info:    anyone 'audit-witness' -> node 'audit-witness-ok' | 'reject'
//   on /qkms/revsync: 'audit-head' (the asker's own head, once per anti-entropy
//                     round) -> 'audit-head-ok' (the answerer's own head, and
//                     what it witnessed of the asker's)
import { concatBytes } from '../bytes.ts';
import { decodeCanonical, encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { readBytes, readMap, readTimestamp, readUint, readRecordVersion } from '../codec/read.ts';
import { ID_BYTES, MAX_NODES, RECORD_VERSION } from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ED25519_LENGTHS, type CryptoSuite, type SigningKey } from '../suite/types.ts';
import type { MessageCodec } from './codec.ts';

/** Audit sequence numbers are stored as 8 bytes; JS integers stay exact up to 2^53. */
const MAX_AUDIT_SEQ = Number.MAX_SAFE_INTEGER;
/** An encoded statement is about 170 bytes; this bounds a stored one before decoding. */
export const MAX_AUDIT_HEAD_BYTES = 512;

export interface AuditHeadBody {
  readonly nodeSetId: Uint8Array;
  /** The index of the node whose log this is, in the node set. */
  readonly node: number;
  /** Sequence number of its last durable audit record (0: none). */
  readonly seq: number;
  /** That record's hash (32 zero bytes for seq 0). */
  readonly hash: Uint8Array;
  /** The node's clock when it signed the statement, ms since the epoch. */
  readonly at: number;
}

export interface SignedAuditHead {
  readonly body: AuditHeadBody;
  readonly signature: Uint8Array;
}

function bodyToCbor(body: AuditHeadBody): Record<string, CborValue> {
  return {
    v: RECORD_VERSION,
    nodeSet: body.nodeSetId,
    node: body.node,
    seq: body.seq,
    hash: body.hash,
    at: body.at,
  };
}

export function auditHeadToCbor(head: SignedAuditHead): Record<string, CborValue> {
  return { head: bodyToCbor(head.body), sig: head.signature };
}

/** Strict: the exact key sets, lengths and ranges. MALFORMED names the field. */
export function auditHeadFromCbor(value: unknown, field: string): SignedAuditHead {
  const m = readMap(value, field, ['head', 'sig']);
  const b = readMap(m['head'], `${field}.head`, ['v', 'nodeSet', 'node', 'seq', 'hash', 'at']);
  readRecordVersion(b['v'], `${field}.head.v`);
  return {
    body: {
      nodeSetId: readBytes(b['nodeSet'], `${field}.head.nodeSet`, ID_BYTES),
      node: readUint(b['node'], `${field}.head.node`, 1, MAX_NODES),
      seq: readUint(b['seq'], `${field}.head.seq`, 0, MAX_AUDIT_SEQ),
      hash: readBytes(b['hash'], `${field}.head.hash`, ID_BYTES),
      at: readTimestamp(b['at'], `${field}.head.at`),
    },
    signature: readBytes(m['sig'], `${field}.sig`, ED25519_LENGTHS.signature),
  };
}

/** The statement's canonical bytes (how a node stores the heads it witnessed). */
export function encodeAuditHead(head: SignedAuditHead): Uint8Array {
  return encodeCanonical(auditHeadToCbor(head));
}

/** Decodes stored statement bytes: canonical, capped, strict (shape only; verify separately). */
export function decodeAuditHead(bytes: Uint8Array): SignedAuditHead {
  return auditHeadFromCbor(decodeCanonical(bytes, MAX_AUDIT_HEAD_BYTES), 'auditHead');
}

function signingBytes(body: AuditHeadBody): Uint8Array {
  return concatBytes(tagBytes(DomainTag.AUDIT_HEAD), encodeCanonical(bodyToCbor(body)));
}

export function signAuditHead(nodeKey: SigningKey, body: AuditHeadBody): SignedAuditHead {
  return { body, signature: nodeKey.sign(signingBytes(body)) };
}

/** True iff the statement is signed by the node whose Ed25519 key is `nodePublicKey`. */
export function verifyAuditHead(
  suite: CryptoSuite,
  head: SignedAuditHead,
  nodePublicKey: Uint8Array,
): boolean {
  return suite.ed25519.verify(head.signature, signingBytes(head.body), nodePublicKey);
}

/** Asks for the latest audit head of node `node` the answerer has witnessed (decision 0010). */
export interface AuditWitnessMessage {
  readonly type: 'audit-witness';
  readonly node: number;
}

/** Absent `witnessed`: the answerer holds none (or `node` is itself). */
export interface AuditWitnessOkMessage {
  readonly type: 'audit-witness-ok';
  readonly witnessed?: SignedAuditHead;
}

/** The asking node's own signed audit head, once per anti-entropy round. */
export interface AuditHeadMessage {
  readonly type: 'audit-head';
  readonly head: SignedAuditHead;
}

export interface AuditHeadOkMessage {
  readonly type: 'audit-head-ok';
  /** The answering node's own signed audit head. */
  readonly head: SignedAuditHead;
  /** The latest head of the ASKER the answerer holds, if any: what it witnessed of it. */
  readonly witnessed?: SignedAuditHead;
}

export const auditWitnessCodec: MessageCodec<AuditWitnessMessage> = {
  type: 'audit-witness',
  required: ['node'],
  optional: [],
  encode: (message) => ({ node: message.node }),
  decode: (m) => ({ type: 'audit-witness', node: readUint(m['node'], 'node', 1, MAX_NODES) }),
};

export const auditWitnessOkCodec: MessageCodec<AuditWitnessOkMessage> = {
  type: 'audit-witness-ok',
  required: [],
  optional: ['witnessed'],
  encode: (message) =>
    message.witnessed === undefined ? {} : { witnessed: auditHeadToCbor(message.witnessed) },
  decode: (m) =>
    m['witnessed'] === undefined
      ? { type: 'audit-witness-ok' }
      : { type: 'audit-witness-ok', witnessed: auditHeadFromCbor(m['witnessed'], 'witnessed') },
};

export const auditHeadCodec: MessageCodec<AuditHeadMessage> = {
  type: 'audit-head',
  required: ['head'],
  optional: [],
  encode: (message) => ({ head: auditHeadToCbor(message.head) }),
  decode: (m) => ({ type: 'audit-head', head: auditHeadFromCbor(m['head'], 'head') }),
};

export const auditHeadOkCodec: MessageCodec<AuditHeadOkMessage> = {
  type: 'audit-head-ok',
  required: ['head'],
  optional: ['witnessed'],
  encode: (message) => ({
    head: auditHeadToCbor(message.head),
    ...(message.witnessed === undefined ? {} : { witnessed: auditHeadToCbor(message.witnessed) }),
  }),
  decode: (m) => ({
    type: 'audit-head-ok',
    head: auditHeadFromCbor(m['head'], 'head'),
    ...(m['witnessed'] === undefined
      ? {}
      : { witnessed: auditHeadFromCbor(m['witnessed'], 'witnessed') }),
  }),
};
