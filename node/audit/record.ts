// One custody record of a node's audit log (DESIGN.md, Audit log): what the
// node decided (a share released, a recover refused with its code, a share
// published, a revocation accepted), when, about whom — as keyed
// fingerprints (node/log.ts), never full identifiers or key material — and
// its place in the chain.
//
//   body = { v, seq, at, prev, event }        canonical CBOR; seq counts from 1
//   hash = SHA-256(AUDIT_RECORD tag || body)  prev = the previous record's hash (zeros for seq 1)
//   sig  = Ed25519 by the node's identity key over AUDIT_SIGNATURE tag || hash
//   stored value = { body, hash, sig }        under key 'a' || seq (8 bytes, big-endian)
import {
  DomainTag,
  ErrorCode,
  ID_BYTES,
  RECORD_VERSION,
  QkmsError,
  REJECTIONS,
  concatBytes,
  decodeCanonical,
  encodeCanonical,
  isRejectionCode,
  readBytes,
  readLiteral,
  readMap,
  readText,
  readTimestamp,
  readUint,
  readRecordVersion,
  tagBytes,
  taggedHash,
  type CborValue,
  type CryptoSuite,
  type RejectionCode,
  type SigningKey,
} from '../../protocol/internal.ts';

import { AUDIT_KINDS } from '../metrics.ts';

export { AUDIT_KINDS };
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** What a record says happened; identifiers are keyed fingerprints ("fp:…"). */
export interface AuditEvent {
  readonly kind: AuditKind;
  /** recover-refused: the code the requester got. */
  readonly code?: RejectionCode;
  readonly wallet?: string;
  readonly session?: string;
  readonly content?: string;
  /** revocation-accepted: the record's id fingerprint and its kind. */
  readonly revocation?: string;
  readonly revocationKind?: string;
  /** share-published: stored or unchanged. revocation-accepted: where it came from. */
  readonly detail?: string;
}

export interface AuditBody {
  readonly seq: number;
  readonly at: number;
  readonly prev: Uint8Array;
  readonly event: AuditEvent;
}

export interface AuditRecord {
  readonly body: AuditBody;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

/** The hash a first record names as its predecessor. */
export const GENESIS_HASH = new Uint8Array(ID_BYTES);
/** Sequence numbers are stored as 8 bytes; JS integers stay exact up to 2^53. */
export const MAX_AUDIT_SEQ = Number.MAX_SAFE_INTEGER;
/** Fingerprints and small labels. */
const MAX_FIELD_CHARS = 64;
const EVENT_TEXT_FIELDS = [
  'wallet',
  'session',
  'content',
  'revocation',
  'revocationKind',
  'detail',
] as const;

function eventToCbor(event: AuditEvent): Record<string, CborValue> {
  const out: Record<string, CborValue> = { kind: event.kind };
  if (event.code !== undefined) out['code'] = event.code;
  for (const field of EVENT_TEXT_FIELDS) {
    const value = event[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

function eventFromCbor(value: unknown): AuditEvent {
  const m = readMap(value, 'event', ['kind'], ['code', ...EVENT_TEXT_FIELDS]);
  const event: Record<string, unknown> = {
    kind: readLiteral(m['kind'], 'event.kind', AUDIT_KINDS),
  };
  if (m['code'] !== undefined) {
    if (!isRejectionCode(m['code']))
      throw new QkmsError(
        ErrorCode.MALFORMED,
        `event.code: one of ${Object.keys(REJECTIONS).length} codes`,
      );
    event['code'] = m['code'];
  }
  for (const field of EVENT_TEXT_FIELDS) {
    if (m[field] !== undefined)
      event[field] = readText(m[field], `event.${field}`, MAX_FIELD_CHARS);
  }
  return event as unknown as AuditEvent;
}

function bodyToCbor(body: AuditBody): Record<string, CborValue> {
  return {
    v: RECORD_VERSION,
    seq: body.seq,
    at: body.at,
    prev: body.prev,
    event: eventToCbor(body.event),
  };
}

export function auditHash(suite: CryptoSuite, body: AuditBody): Uint8Array {
  return taggedHash(suite.sha256, DomainTag.AUDIT_RECORD, encodeCanonical(bodyToCbor(body)));
}

function signedMessage(hash: Uint8Array): Uint8Array {
  return concatBytes(tagBytes(DomainTag.AUDIT_SIGNATURE), hash);
}

/** Builds, hashes and signs the record that follows `prev` at `seq`. */
export function createAuditRecord(
  suite: CryptoSuite,
  signer: SigningKey,
  body: AuditBody,
): AuditRecord {
  const hash = auditHash(suite, body);
  return { body, hash, signature: signer.sign(signedMessage(hash)) };
}

export function encodeAuditRecord(record: AuditRecord): Uint8Array {
  return encodeCanonical({
    body: bodyToCbor(record.body),
    hash: record.hash,
    sig: record.signature,
  });
}

/** Decodes a stored record (shape only: the chain checks are verify.ts's). MALFORMED on any error. */
export function decodeAuditRecord(bytes: Uint8Array): AuditRecord {
  const m = readMap(decodeCanonical(bytes, 4096), 'audit record', ['body', 'hash', 'sig']);
  const b = readMap(m['body'], 'body', ['v', 'seq', 'at', 'prev', 'event']);
  readRecordVersion(b['v'], 'body.v');
  return {
    body: {
      seq: readUint(b['seq'], 'body.seq', 1, MAX_AUDIT_SEQ),
      at: readTimestamp(b['at'], 'body.at'),
      prev: readBytes(b['prev'], 'body.prev', ID_BYTES),
      event: eventFromCbor(b['event']),
    },
    hash: readBytes(m['hash'], 'hash', ID_BYTES),
    signature: readBytes(m['sig'], 'sig', 64),
  };
}

export function verifyAuditSignature(
  suite: CryptoSuite,
  record: AuditRecord,
  publicKey: Uint8Array,
): boolean {
  return suite.ed25519.verify(record.signature, signedMessage(record.hash), publicKey);
}
