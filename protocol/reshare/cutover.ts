// The cutover record (decision 0017, docs/protocol.md §7d): k of m admins of
// the old node set say that its successor takes over now.
//   body   = { v: 1, from: nodeSetId, to: nodeSetId, at: ms }
//   signed = each admin's hybrid signature over CUTOVER tag || canonical CBOR of body
//   record = { body, sigs: [{ admin, sig }, …] }   ascending by admin, each once
// The successor already carries k of m old admins' signatures (the node-set
// chain): that says who the next set is. The record says when: a node that
// takes it stops serving the old sharing, and a retired node wipes its shares.
// Both are irreversible, so the record needs the old set's admin quorum, not
// one admin's ticket.
import { concatBytes } from '../bytes.ts';
import { decodeCanonical, encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { readArray, readBytes, readLiteral, readMap, readUint } from '../codec/read.ts';
import { ID_BYTES } from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import { MAX_ADMINS, type NodeSetAdmins } from '../node-set/types.ts';
import type { CryptoSuite } from '../suite/types.ts';

export const CUTOVER_RECORD_VERSION = 1;
/** A record's encoded size at most: 16 hybrid signatures of ~3.4 KiB and the body. */
export const MAX_CUTOVER_RECORD_BYTES = 64 * 1024;

export interface CutoverBody {
  readonly from: Uint8Array;
  readonly to: Uint8Array;
  /** ms since the epoch the admins signed at (informational: the record does not expire). */
  readonly at: number;
}

export interface CutoverRecord {
  readonly body: CutoverBody;
  /** Ascending by admin, each admin once. */
  readonly signatures: readonly { readonly admin: number; readonly signature: Uint8Array }[];
}

function denied(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.RESHARE_DENIED, `cutover record: ${message}`, { cause });
}

function bodyToCbor(body: CutoverBody): CborValue {
  return { v: CUTOVER_RECORD_VERSION, from: body.from, to: body.to, at: body.at };
}

/** What each admin signs: the RESHARE_CUTOVER tag then the canonical body. */
export function cutoverSigningBytes(body: CutoverBody): Uint8Array {
  return concatBytes(tagBytes(DomainTag.RESHARE_CUTOVER), encodeCanonical(bodyToCbor(body)));
}

export function encodeCutoverRecord(record: CutoverRecord): Uint8Array {
  return encodeCanonical({
    body: bodyToCbor(record.body),
    sigs: record.signatures.map((s) => ({ admin: s.admin, sig: s.signature })),
  });
}

/** Strict decode (canonical CBOR, every field, sorted distinct admins); signatures are not verified. RESHARE_DENIED. */
export function decodeCutoverRecord(suite: CryptoSuite, bytes: Uint8Array): CutoverRecord {
  try {
    const m = readMap(decodeCanonical(bytes, MAX_CUTOVER_RECORD_BYTES), 'record', ['body', 'sigs']);
    const b = readMap(m['body'], 'body', ['v', 'from', 'to', 'at']);
    readLiteral(b['v'], 'body.v', [CUTOVER_RECORD_VERSION]);
    let last = -1;
    const signatures = readArray(m['sigs'], 'sigs', MAX_ADMINS, 1).map((s, i) => {
      const sig = readMap(s, `sigs[${i}]`, ['admin', 'sig']);
      const admin = readUint(sig['admin'], `sigs[${i}].admin`, 0, MAX_ADMINS - 1);
      if (admin <= last)
        throw denied(`sigs[${i}].admin: signatures must be sorted, each admin once`);
      last = admin;
      return {
        admin,
        signature: readBytes(sig['sig'], `sigs[${i}].sig`, suite.hybrid.lengths.signature),
      };
    });
    return {
      body: {
        from: readBytes(b['from'], 'body.from', ID_BYTES),
        to: readBytes(b['to'], 'body.to', ID_BYTES),
        at: readUint(b['at'], 'body.at', 0, Number.MAX_SAFE_INTEGER),
      },
      signatures,
    };
  } catch (e) {
    if (isQkmsError(e, ErrorCode.RESHARE_DENIED)) throw e;
    throw denied(e instanceof Error ? e.message : 'malformed', e);
  }
}

/**
 * Signs `body` with each admin seed (64-byte hybrid seeds of `admins`),
 * merged into `previous` (another admin's copy of the same record) one
 * signature per admin. INVALID_ARGUMENT for a seed that is not an admin's.
 */
export function signCutover(
  suite: CryptoSuite,
  admins: NodeSetAdmins,
  body: CutoverBody,
  seeds: readonly Uint8Array[],
  previous?: CutoverRecord,
): CutoverRecord {
  const message = cutoverSigningBytes(body);
  if (previous !== undefined && !suite.equalBytes(cutoverSigningBytes(previous.body), message))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'cutover: signatures of another record');
  const byAdmin = new Map((previous?.signatures ?? []).map((s) => [s.admin, s]));
  for (const seed of seeds) {
    const signer = suite.hybrid.signer(seed);
    const admin = admins.keys.findIndex((k) => suite.equalBytes(k, signer.publicKey));
    if (admin < 0)
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        "cutover: an admin key is not one of the old node set's admins",
      );
    byAdmin.set(admin, { admin, signature: signer.sign(message) });
  }
  return { body, signatures: [...byAdmin.values()].sort((a, b) => a.admin - b.admin) };
}

/**
 * Checks that `record` moves `handover.from` to `handover.to` and carries at
 * least the old set's admins.threshold valid signatures of distinct admins.
 * Throws RESHARE_DENIED naming the first failure.
 */
export function verifyCutover(
  suite: CryptoSuite,
  record: CutoverRecord,
  handover: { readonly from: Uint8Array; readonly to: Uint8Array; readonly admins: NodeSetAdmins },
): void {
  const { body } = record;
  if (!suite.equalBytes(body.from, handover.from) || !suite.equalBytes(body.to, handover.to))
    throw denied('it names another handover');
  const { keys, threshold } = handover.admins;
  const message = cutoverSigningBytes(body);
  let valid = 0;
  for (const { admin, signature } of record.signatures) {
    const key = keys[admin];
    if (key !== undefined && suite.hybrid.verify(signature, message, key)) valid += 1;
    if (valid >= threshold) return;
  }
  throw denied(`${valid} valid admin signatures of the old set; ${threshold} needed`);
}
