// The signed node-set file (docs/protocol.md §5), its text in and out:
//
//   nodeset.json = { "document": { … },
//                    "signatures": [ { "admin": i, "signature": hex } ],
//                    "predecessorSignatures": [ … ] }   ; exactly when document.predecessor is
//
// parseSignedNodeSet is the only way to a NodeSet a node or a client trusts:
// the document validated, its id computed, k of m of its own admins'
// signatures verified. A successor's predecessorSignatures are checked for
// shape here and verified only by verifyNodeSetChain (chain.ts), which holds
// the predecessor.
import { toHex } from '../bytes.ts';
import { readMap } from '../codec/read.ts';
import type { CryptoSuite } from '../suite/types.ts';
import { idOf, toNodeSetDocument } from './canonical.ts';
import { readDocument, toDocumentJson, type ParsedDocument } from './document.ts';
import { asNodeSetError, invalid } from './fields.ts';
import { readSignatures, verifyAdminSignatures, type ParsedSignature } from './signatures.ts';
import {
  MAX_ADMINS,
  MAX_NODE_SET_JSON_CHARS,
  type NodeSet,
  type NodeSetSignatureJson,
  type SignedNodeSetJson,
} from './types.ts';

const FILE_KEYS = ['document', 'signatures'] as const;
const SUCCESSOR_FILE_KEYS = [...FILE_KEYS, 'predecessorSignatures'] as const;

/** A signed file read and hashed, no signature verified yet. */
export interface SignedFile {
  readonly doc: ParsedDocument;
  readonly id: Uint8Array;
  readonly signatures: readonly ParsedSignature[];
  /** Empty for epoch 1; positions are in the predecessor's admins.keys, checked against it later. */
  readonly predecessorSignatures: readonly ParsedSignature[];
}

/**
 * Reads a signed file's structure: the document, its id, and both signature
 * lists' shape. `predecessorSignatures` is required exactly when the document
 * has a predecessor, and refused otherwise.
 */
export function readSignedFile(suite: CryptoSuite, json: unknown): SignedFile {
  // Any key that is neither is named before the document is read.
  const file = asNodeSetError(() => readMap(json, 'nodeSet', FILE_KEYS, ['predecessorSignatures']));
  const doc = readDocument(file.document);
  const keys = doc.predecessor === undefined ? FILE_KEYS : SUCCESSOR_FILE_KEYS;
  asNodeSetError(() => readMap(json, 'nodeSet', keys));
  const signatures = readSignatures(file.signatures, doc.admins.keys.length);
  const predecessorSignatures =
    doc.predecessor === undefined
      ? []
      : readSignatures(file.predecessorSignatures, MAX_ADMINS, 'predecessorSignatures');
  return { doc, id: idOf(suite, doc), signatures, predecessorSignatures };
}

/** Verifies a read file's own admin signatures: the trusted NodeSet. */
export function verifySignedFile(
  suite: CryptoSuite,
  file: SignedFile,
  list = 'signatures',
  suffix = '',
): NodeSet {
  const { doc, id, signatures } = file;
  const labels = { list, whose: '', suffix };
  const signers = verifyAdminSignatures(suite, doc.admins, id, signatures, labels);
  return Object.freeze({ ...toNodeSetDocument(doc, id), signers });
}

/**
 * Validates a signed node-set file (its parsed JSON) and verifies its admin
 * signatures. Every signature present must verify — a bad one is an error,
 * never skipped — and at least admins.threshold distinct admins must have
 * signed. For a successor (epoch > 1) that is its own admins only; the
 * predecessor's consent is verifyNodeSetChain's to check.
 */
export function parseSignedNodeSet(suite: CryptoSuite, json: unknown): NodeSet {
  return verifySignedFile(suite, readSignedFile(suite, json));
}

/** parseSignedNodeSet over the file's text, with its size checked before JSON.parse. */
export function parseSignedNodeSetJson(suite: CryptoSuite, text: string): NodeSet {
  if (typeof text !== 'string') throw invalid('nodeSet', `JSON text, got ${typeof text}`);
  if (text.length > MAX_NODE_SET_JSON_CHARS) {
    throw invalid('nodeSet', `at most ${MAX_NODE_SET_JSON_CHARS} chars, got ${text.length}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid('nodeSet', 'JSON text', e);
  }
  return parseSignedNodeSet(suite, json);
}

function sortedHex(list: readonly ParsedSignature[]): NodeSetSignatureJson[] {
  return list
    .map(({ admin, signature }) => ({ admin, signature: toHex(signature) }))
    .sort((a, b) => a.admin - b.admin);
}

/**
 * The node-set file: pretty JSON of the normalized document (nodes by index)
 * and its signatures (by admin), ending in a newline. Validates the document
 * and the signatures' shape; it does not verify them (parseSignedNodeSet and
 * verifyNodeSetChain do). `predecessorSignatures` (by the predecessor's
 * admins, signNodeSet with options.predecessor) is written exactly when the
 * document has a predecessor — as [] if not given, while they are collected —
 * and refused for a document without one.
 */
export function serializeSignedNodeSet(
  document: unknown,
  signatures: readonly NodeSetSignatureJson[],
  predecessorSignatures?: readonly NodeSetSignatureJson[],
): string {
  const doc = readDocument(document);
  const own = sortedHex(readSignatures(signatures, doc.admins.keys.length));
  let file: SignedNodeSetJson;
  if (doc.predecessor === undefined) {
    if (predecessorSignatures !== undefined) {
      throw invalid('predecessorSignatures', 'none for a document without a predecessor');
    }
    file = { document: toDocumentJson(doc), signatures: own };
  } else {
    const theirs = readSignatures(predecessorSignatures ?? [], MAX_ADMINS, 'predecessorSignatures');
    file = {
      document: toDocumentJson(doc),
      signatures: own,
      predecessorSignatures: sortedHex(theirs),
    };
  }
  return `${JSON.stringify(file, null, 2)}\n`;
}
