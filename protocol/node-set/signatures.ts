// Admin signatures over a node set, k of m (docs/protocol.md §5): each admin
// signs DomainTag.NODE_SET_SIGNATURE || nodeSetId with its hybrid key
// (suite/hybrid.ts). A node set is valid only if every signature in the file
// verifies and at least admins.threshold distinct admins signed.
import { abytes } from '../assert.ts';
import { concatBytes, toHex } from '../bytes.ts';
import { readArray, readMap } from '../codec/read.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import { HYBRID_LENGTHS } from '../suite/hybrid.ts';
import type { CryptoSuite } from '../suite/types.ts';
import { idOf } from './canonical.ts';
import { readDocument, type ParsedDocument } from './document.ts';
import { asNodeSetError, freezeAll, invalid, readHex, readInt } from './fields.ts';
import { MAX_ADMINS, type NodeSetSignatureJson } from './types.ts';

const SIGNATURE_KEYS = ['admin', 'signature'] as const;

/** What an admin signs: NODE_SET_SIGNATURE tag || nodeSetId. */
function signedMessage(id: Uint8Array): Uint8Array {
  return concatBytes(tagBytes(DomainTag.NODE_SET_SIGNATURE), id);
}

/** Whether `signature` (hex) is a valid hybrid signature of `adminPublicKey` over node set `id`. */
export function verifyNodeSetSignature(
  suite: CryptoSuite,
  id: Uint8Array,
  adminPublicKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  return suite.hybrid.verify(signature, signedMessage(id), adminPublicKey);
}

export interface ParsedSignature {
  readonly field: string;
  readonly admin: number;
  readonly signature: Uint8Array;
}

/** Signature entries: shape, admin position in range, each admin at most once. No verification. */
export function readSignatures(value: unknown, admins: number): readonly ParsedSignature[] {
  return asNodeSetError(() => {
    const items = readArray(value, 'signatures', MAX_ADMINS);
    const positionOfAdmin = new Map<number, number>();
    return items.map((item, position) => {
      const field = `signatures[${position}]`;
      const map = readMap(item, field, SIGNATURE_KEYS);
      const admin = readInt(map.admin, `${field}.admin`, 0, admins - 1);
      const same = positionOfAdmin.get(admin);
      if (same !== undefined) {
        throw invalid(`${field}.admin`, `an admin not counted before (signatures[${same}])`);
      }
      positionOfAdmin.set(admin, position);
      const signature = readHex(map.signature, `${field}.signature`, HYBRID_LENGTHS.signature);
      return { field, admin, signature };
    });
  });
}

/**
 * One admin's signature over a document. `admin.index` is the position of the
 * admin's public key in admins.keys, and `admin.secretKey` must be its secret
 * key (QkmsError INVALID_ARGUMENT otherwise).
 */
export function signNodeSet(
  suite: CryptoSuite,
  document: unknown,
  admin: { readonly index: number; readonly secretKey: Uint8Array },
): NodeSetSignatureJson {
  const doc = readDocument(document);
  let index: number;
  try {
    index = readInt(
      readMap(admin, 'admin', ['index', 'secretKey']).index,
      'admin.index',
      0,
      doc.admins.keys.length - 1,
    );
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.MALFORMED)) throw e;
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, e.message, { cause: e });
  }
  abytes(admin.secretKey, 'admin.secretKey', suite.hybrid.lengths.seed);
  const signer = suite.hybrid.signer(admin.secretKey);
  const listed = doc.admins.keys[index];
  if (listed === undefined || !suite.equalBytes(signer.publicKey, listed)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `admin.secretKey: expected the secret key of admins.keys[${index}]`,
    );
  }
  return { admin: index, signature: toHex(signer.sign(signedMessage(idOf(suite, doc)))) };
}

/**
 * Verifies the signatures of document `doc` (whose id is `id`): every one
 * present must verify — a bad one is an error, never skipped — and at least
 * admins.threshold distinct admins must have signed. Returns the signers'
 * positions in admins.keys, ascending.
 */
export function verifyAdminSignatures(
  suite: CryptoSuite,
  doc: ParsedDocument,
  id: Uint8Array,
  signatures: readonly ParsedSignature[],
): readonly number[] {
  const message = signedMessage(id);
  for (const { field, admin, signature } of signatures) {
    const key = doc.admins.keys[admin];
    if (key === undefined || !suite.hybrid.verify(signature, message, key)) {
      throw invalid(`${field}.signature`, `a valid signature by admins.keys[${admin}]`);
    }
  }
  if (signatures.length < doc.admins.threshold) {
    throw invalid(
      'signatures',
      `at least ${doc.admins.threshold} admin signatures, got ${signatures.length}`,
    );
  }
  return freezeAll(signatures.map((s) => s.admin).sort((a, b) => a - b));
}
