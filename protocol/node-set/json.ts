// The signed node-set file (docs/protocol.md §5), its text in and out:
//
//   nodeset.json = { "document": { … }, "signatures": [ { "admin": i, "signature": hex } ] }
//
// parseSignedNodeSet is the only way to a NodeSet a node or a client trusts:
// the document validated, its id computed, k of m admin signatures verified.
import { toHex } from '../bytes.ts';
import { readMap } from '../codec/read.ts';
import type { CryptoSuite } from '../suite/types.ts';
import { idOf, toNodeSetDocument } from './canonical.ts';
import { readDocument, toDocumentJson } from './document.ts';
import { asNodeSetError, invalid } from './fields.ts';
import { readSignatures, verifyAdminSignatures } from './signatures.ts';
import {
  MAX_NODE_SET_JSON_CHARS,
  type NodeSet,
  type NodeSetSignatureJson,
  type SignedNodeSetJson,
} from './types.ts';

const FILE_KEYS = ['document', 'signatures'] as const;

/**
 * Validates a signed node-set file (its parsed JSON) and verifies its admin
 * signatures. Every signature present must verify — a bad one is an error,
 * never skipped — and at least admins.threshold distinct admins must have
 * signed.
 */
export function parseSignedNodeSet(suite: CryptoSuite, json: unknown): NodeSet {
  const file = asNodeSetError(() => readMap(json, 'nodeSet', FILE_KEYS));
  const doc = readDocument(file.document);
  const signatures = readSignatures(file.signatures, doc.admins.keys.length);
  const id = idOf(suite, doc);
  const signers = verifyAdminSignatures(suite, doc, id, signatures);
  return Object.freeze({ ...toNodeSetDocument(doc, id), signers });
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

/**
 * The node-set file: pretty JSON of the normalized document (nodes by index)
 * and its signatures (by admin), ending in a newline. Validates the document
 * and the signatures' shape; it does not verify them (parseSignedNodeSet does).
 */
export function serializeSignedNodeSet(
  document: unknown,
  signatures: readonly NodeSetSignatureJson[],
): string {
  const doc = readDocument(document);
  const sorted = readSignatures(signatures, doc.admins.keys.length)
    .map(({ admin, signature }) => ({ admin, signature: toHex(signature) }))
    .sort((a, b) => a.admin - b.admin);
  const file: SignedNodeSetJson = { document: toDocumentJson(doc), signatures: sorted };
  return `${JSON.stringify(file, null, 2)}\n`;
}
