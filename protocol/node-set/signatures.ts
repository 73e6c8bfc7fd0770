// Admin signatures over a node set, k of m (docs/protocol.md §5): each admin
// signs DomainTag.NODE_SET_SIGNATURE || nodeSetId with its hybrid key
// (suite/hybrid.ts). A node set is valid only if every signature in the file
// verifies and at least admins.threshold distinct admins signed.
//
// A successor (epoch > 1) also carries `predecessorSignatures`: the same
// statement — NODE_SET_SIGNATURE || the successor's nodeSetId — signed by the
// predecessor's admins, positions naming the predecessor's admins.keys. An
// admin listed in both sets signs once and may give that signature in both
// lists: both say "I approve this node set". Only verifyNodeSetChain
// (chain.ts), which holds the predecessor, can verify them.
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
import {
  MAX_ADMINS,
  type NodeSetAdmins,
  type NodeSetDocument,
  type NodeSetSignatureJson,
} from './types.ts';

const SIGNATURE_KEYS = ['admin', 'signature'] as const;
const SIGN_OPTION_KEYS = ['predecessor'] as const;

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
  readonly admin: number;
  readonly signature: Uint8Array;
}

/**
 * Signature entries: shape, admin position in 0..admins-1, each admin at most
 * once. No verification. `list` names the array in messages.
 */
export function readSignatures(
  value: unknown,
  admins: number,
  list = 'signatures',
): readonly ParsedSignature[] {
  return asNodeSetError(() => {
    const items = readArray(value, list, MAX_ADMINS);
    const positionOfAdmin = new Map<number, number>();
    return items.map((item, position) => {
      const field = `${list}[${position}]`;
      const map = readMap(item, field, SIGNATURE_KEYS);
      const admin = readInt(map.admin, `${field}.admin`, 0, admins - 1);
      const same = positionOfAdmin.get(admin);
      if (same !== undefined) {
        throw invalid(`${field}.admin`, `an admin not counted before (${list}[${same}])`);
      }
      positionOfAdmin.set(admin, position);
      const signature = readHex(map.signature, `${field}.signature`, HYBRID_LENGTHS.signature);
      return { admin, signature };
    });
  });
}

/** MALFORMED from a strict reader of a caller's argument becomes INVALID_ARGUMENT. */
function asArgumentError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.MALFORMED)) throw e;
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, e.message, { cause: e });
  }
}

/**
 * The set `doc` succeeds, checked as verifyNodeSetChain will check it: `doc`
 * names its id and takes the next epoch. Signing a successor of another set
 * would only make a signature no chain accepts.
 */
function checkSuccessor(doc: ParsedDocument, predecessor: NodeSetDocument): NodeSetAdmins {
  const id = predecessor.id as unknown;
  if (!(id instanceof Uint8Array) || doc.predecessor === undefined) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'options.predecessor: expected the set a document with a predecessor names',
    );
  }
  if (toHex(doc.predecessor) !== toHex(id) || doc.epoch !== predecessor.epoch + 1) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `options.predecessor: expected the epoch ${doc.epoch - 1} set document.predecessor names`,
    );
  }
  return predecessor.admins;
}

/**
 * One admin's signature over a document. `admin.index` is the position of the
 * admin's public key in admins.keys, and `admin.secretKey` must be its secret
 * key (QkmsError INVALID_ARGUMENT otherwise).
 *
 * With `options.predecessor` (the set the document succeeds, which it must
 * name), an admin of that set signs: `admin.index` is then a position in the
 * predecessor's admins.keys, and the result goes in the file's
 * `predecessorSignatures`.
 */
export function signNodeSet(
  suite: CryptoSuite,
  document: unknown,
  admin: { readonly index: number; readonly secretKey: Uint8Array },
  options?: { readonly predecessor: NodeSetDocument },
): NodeSetSignatureJson {
  const doc = readDocument(document);
  const admins =
    options === undefined
      ? doc.admins
      : checkSuccessor(
          doc,
          asArgumentError(() => readMap(options, 'options', SIGN_OPTION_KEYS))
            .predecessor as NodeSetDocument,
        );
  const keys = options === undefined ? 'admins.keys' : "the predecessor's admins.keys";
  const index = asArgumentError(() =>
    readInt(
      readMap(admin, 'admin', ['index', 'secretKey']).index,
      'admin.index',
      0,
      admins.keys.length - 1,
    ),
  );
  abytes(admin.secretKey, 'admin.secretKey', suite.hybrid.lengths.seed);
  const signer = suite.hybrid.signer(admin.secretKey);
  const listed = admins.keys[index];
  if (listed === undefined || !suite.equalBytes(signer.publicKey, listed)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `admin.secretKey: expected the secret key of ${keys}[${index}]`,
    );
  }
  return { admin: index, signature: toHex(signer.sign(signedMessage(idOf(suite, doc)))) };
}

/** How verifyAdminSignatures names what it checks in its messages. */
export interface SignatureLabels {
  /** The array, as a path: `signatures`, `successors[0].predecessorSignatures`. */
  readonly list: string;
  /** Whose admins: `` for the document's own, `epoch 1's ` for a predecessor's. */
  readonly whose: string;
  /** Appended to every message: where a chain breaks. */
  readonly suffix: string;
}

const OWN: SignatureLabels = { list: 'signatures', whose: '', suffix: '' };

/**
 * Verifies signatures over node set `id` by `admins` (the document's own, or
 * its predecessor's): every one present must verify — a bad one is an error,
 * never skipped — and at least admins.threshold distinct admins must have
 * signed. Returns the signers' positions in admins.keys, ascending.
 */
export function verifyAdminSignatures(
  suite: CryptoSuite,
  admins: NodeSetAdmins,
  id: Uint8Array,
  signatures: readonly ParsedSignature[],
  labels: SignatureLabels = OWN,
): readonly number[] {
  const { list, whose, suffix } = labels;
  const message = signedMessage(id);
  signatures.forEach(({ admin, signature }, position) => {
    const key = admins.keys[admin];
    if (key === undefined) {
      throw invalid(
        `${list}[${position}].admin`,
        `a position in ${whose}admins.keys (0..${admins.keys.length - 1})${suffix}`,
      );
    }
    if (!suite.hybrid.verify(signature, message, key)) {
      throw invalid(
        `${list}[${position}].signature`,
        `a valid signature by ${whose}admins.keys[${admin}]${suffix}`,
      );
    }
  });
  if (signatures.length < admins.threshold) {
    const by = whose === '' ? 'admin signatures' : `signatures by ${whose}admins`;
    throw invalid(list, `at least ${admins.threshold} ${by}, got ${signatures.length}${suffix}`);
  }
  return freezeAll(signatures.map((s) => s.admin).sort((a, b) => a - b));
}
