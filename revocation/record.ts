// A revocation record (DESIGN.md, Revocation): a target — a wallet, a
// wallet's delegations issued before a time, a session key, a delegation or a
// content id — with the time it was issued and a reason, signed by k of the
// node set's m admins with their hybrid (Ed25519 + ML-DSA-65) keys.
//
//   body    = { v, nodeSet, kind, target, [before], issuedAt, reason }   canonical CBOR
//   id      = SHA-256(REVOCATION_ID tag || canonical body)
//   signed  = hybrid signature over REVOCATION_SIGNATURE tag || id
//   record  = { body, sigs: [ { admin, sig } … ] }   sigs sorted by admin position, each once
//
// The id names the statement, not who signed it: the same body signed by
// another subset of admins is the same record, so a set keyed by id stays a
// set however records travel. A record binds the node set it was signed for;
// a node refuses one naming another (docs/protocol.md §8).
import {
  ADDRESS_BYTES,
  DomainTag,
  ErrorCode,
  ID_BYTES,
  MAX_REVOCATION_BYTES,
  RECORD_VERSION,
  QkmsError,
  concatBytes,
  decodeCanonical,
  encodeCanonical,
  isQkmsError,
  readArray,
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
  type NodeSet,
} from '../protocol/internal.ts';

export const REVOCATION_KINDS = [
  'wallet',
  'wallet-sessions-before',
  'session',
  'delegation',
  'content',
] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/** Length of the target bytes of each kind. */
export const TARGET_BYTES: Readonly<Record<RevocationKind, number>> = {
  /** An Ethereum address: every request of this wallet, forever. */
  wallet: ADDRESS_BYTES,
  /** An Ethereum address: its delegations issued before `before` (log out everywhere). */
  'wallet-sessions-before': ADDRESS_BYTES,
  /** A session's Ed25519 public key. */
  session: 32,
  /** A delegation hash (DomainTag.DELEGATION_HASH). */
  delegation: ID_BYTES,
  /** A content id. */
  content: ID_BYTES,
};

/** Admin signatures a record may carry: a node set lists at most 16 admins. */
export const MAX_REVOCATION_SIGNATURES = 16;
/** A reason is free text for the admin log; short. */
export const MAX_REASON_BYTES = 256;

export interface RevocationBody {
  readonly nodeSetId: Uint8Array;
  readonly kind: RevocationKind;
  readonly target: Uint8Array;
  /** Only for 'wallet-sessions-before': delegations issued strictly before this time (ms) are revoked. */
  readonly before?: number;
  /** When the admins issued it (ms). */
  readonly issuedAt: number;
  readonly reason: string;
}

export interface AdminSignature {
  /** Position of the admin's key in the node set's admins.keys. */
  readonly admin: number;
  readonly signature: Uint8Array;
}

/** A decoded record. Its signatures are not checked: verifyRevocation does that. */
export interface RevocationRecord {
  readonly id: Uint8Array;
  readonly body: RevocationBody;
  readonly signatures: readonly AdminSignature[];
  /** The canonical encoding of the whole record (what travels and is stored). */
  readonly bytes: Uint8Array;
}

function bad(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.BAD_REVOCATION, message, { cause });
}

function bodyToCbor(body: RevocationBody): Record<string, CborValue> {
  return {
    v: RECORD_VERSION,
    nodeSet: body.nodeSetId,
    kind: body.kind,
    target: body.target,
    ...(body.before === undefined ? {} : { before: body.before }),
    issuedAt: body.issuedAt,
    reason: body.reason,
  };
}

const BODY_KEYS = ['v', 'nodeSet', 'kind', 'target', 'issuedAt', 'reason'] as const;

function bodyFromCbor(value: unknown): RevocationBody {
  const m = readMap(value, 'body', BODY_KEYS, ['before']);
  readRecordVersion(m['v'], 'body.v');
  const kind = readLiteral(m['kind'], 'body.kind', REVOCATION_KINDS);
  const body: RevocationBody = {
    nodeSetId: readBytes(m['nodeSet'], 'body.nodeSet', ID_BYTES),
    kind,
    target: readBytes(m['target'], 'body.target', TARGET_BYTES[kind]),
    issuedAt: readTimestamp(m['issuedAt'], 'body.issuedAt'),
    reason: readText(m['reason'], 'body.reason', MAX_REASON_BYTES),
  };
  const hasBefore = m['before'] !== undefined;
  if (hasBefore !== (kind === 'wallet-sessions-before'))
    throw bad(`body.before: ${hasBefore ? 'only' : 'required'} for wallet-sessions-before`);
  return hasBefore ? { ...body, before: readTimestamp(m['before'], 'body.before') } : body;
}

/** Checks a body built by a caller (the admin CLI): the same rules a node applies. */
export function createRevocationBody(input: RevocationBody): RevocationBody {
  try {
    return bodyFromCbor(bodyToCbor(input));
  } catch (e) {
    if (isQkmsError(e))
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `revocation: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The record's id: SHA-256 over the tag and the body's canonical bytes. */
export function revocationId(suite: CryptoSuite, body: RevocationBody): Uint8Array {
  return taggedHash(suite.sha256, DomainTag.REVOCATION_ID, encodeCanonical(bodyToCbor(body)));
}

/** What each admin signs: REVOCATION_SIGNATURE tag || id. */
export function revocationSignedMessage(id: Uint8Array): Uint8Array {
  return concatBytes(tagBytes(DomainTag.REVOCATION_SIGNATURE), id);
}

function assemble(
  id: Uint8Array,
  body: RevocationBody,
  signatures: readonly AdminSignature[],
): RevocationRecord {
  const sorted = [...signatures].sort((a, b) => a.admin - b.admin);
  const bytes = encodeCanonical({
    body: bodyToCbor(body),
    sigs: sorted.map((s) => ({ admin: s.admin, sig: s.signature })),
  });
  if (bytes.length > MAX_REVOCATION_BYTES)
    throw bad(`record: ${bytes.length} bytes exceeds ${MAX_REVOCATION_BYTES}`);
  return Object.freeze({ id, body, signatures: Object.freeze(sorted), bytes });
}

/**
 * Signs `body` with each admin seed (64-byte hybrid seeds) and merges the
 * signatures into `previous` (another admin's copy of the same record), one
 * per admin. A seed whose key is not one of the node set's admins is refused.
 */
export function signRevocation(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  body: RevocationBody,
  adminSeeds: readonly Uint8Array[],
  previous?: RevocationRecord,
): RevocationRecord {
  const checked = createRevocationBody(body);
  if (!suite.equalBytes(checked.nodeSetId, nodeSet.id))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'revocation: body names another node set');
  const id = revocationId(suite, checked);
  if (previous !== undefined && !suite.equalBytes(previous.id, id))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'revocation: signatures of another record');
  const byAdmin = new Map((previous?.signatures ?? []).map((s) => [s.admin, s]));
  const message = revocationSignedMessage(id);
  for (const seed of adminSeeds) {
    const signer = suite.hybrid.signer(seed);
    const admin = nodeSet.admins.keys.findIndex((k) => suite.equalBytes(k, signer.publicKey));
    if (admin < 0)
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        "revocation: an admin key is not one of the node set's admins",
      );
    byAdmin.set(admin, { admin, signature: signer.sign(message) });
  }
  return assemble(id, checked, [...byAdmin.values()]);
}

/**
 * Decodes a record's bytes (size cap, strict canonical CBOR, every field
 * checked) and computes its id. Signatures are NOT verified. Any failure is
 * QkmsError BAD_REVOCATION.
 */
export function decodeRevocation(suite: CryptoSuite, bytes: Uint8Array): RevocationRecord {
  try {
    const m = readMap(decodeCanonical(bytes, MAX_REVOCATION_BYTES), 'record', ['body', 'sigs']);
    const body = bodyFromCbor(m['body']);
    let last = -1;
    const signatures = readArray(m['sigs'], 'sigs', MAX_REVOCATION_SIGNATURES, 1).map((s, i) => {
      const sig = readMap(s, `sigs[${i}]`, ['admin', 'sig']);
      const admin = readUint(sig['admin'], `sigs[${i}].admin`, 0, MAX_REVOCATION_SIGNATURES - 1);
      // Ascending and distinct: one encoding per record, one vote per admin.
      if (admin <= last) throw bad(`sigs[${i}].admin: signatures must be sorted, each admin once`);
      last = admin;
      return {
        admin,
        signature: readBytes(sig['sig'], `sigs[${i}].sig`, suite.hybrid.lengths.signature),
      };
    });
    return Object.freeze({
      id: revocationId(suite, body),
      body,
      signatures: Object.freeze(signatures),
      bytes,
    });
  } catch (e) {
    if (isQkmsError(e, ErrorCode.BAD_REVOCATION)) throw e;
    throw bad(`record: ${e instanceof Error ? e.message : 'malformed'}`, e);
  }
}

/**
 * Whether the record may be applied by a node of `nodeSet`: it names that
 * node set, and at least admins.threshold distinct admins of it signed it.
 * Cheap checks first; signatures are verified only until the threshold is
 * met, and verification stops as soon as the threshold can no longer be met.
 * Throws QkmsError BAD_REVOCATION.
 */
export function verifyRevocation(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  record: RevocationRecord,
): void {
  if (!suite.equalBytes(record.body.nodeSetId, nodeSet.id))
    throw bad('record names another node set');
  const { keys, threshold } = nodeSet.admins;
  if (record.signatures.length < threshold)
    throw bad(`record carries ${record.signatures.length} signatures; ${threshold} needed`);
  const message = revocationSignedMessage(record.id);
  let valid = 0;
  let left = record.signatures.length;
  for (const { admin, signature } of record.signatures) {
    left -= 1;
    const key = keys[admin];
    if (key !== undefined && suite.hybrid.verify(signature, message, key)) valid += 1;
    if (valid >= threshold) return;
    if (valid + left < threshold) break;
  }
  throw bad(`record has ${valid} valid admin signatures; ${threshold} needed`);
}

/** Decodes and verifies: the only way a node takes a record from the outside. */
export function readRevocation(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  bytes: Uint8Array,
): RevocationRecord {
  const record = decodeRevocation(suite, bytes);
  verifyRevocation(suite, nodeSet, record);
  return record;
}
