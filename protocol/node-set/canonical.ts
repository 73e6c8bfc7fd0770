// The canonical form of a node-set document and its id (docs/protocol.md §5):
// the document as a CBOR value — keys exactly as in the JSON, nodes sorted by
// index, KEM and admin keys as byte strings, PeerIds and multiaddrs as text —
// in deterministic CBOR (codec/cbor.ts). A successor's `predecessor` is a
// 32-byte byte string; a document without one has no such key, so its bytes
// (and every nodeSetId from before epochs chained) are unchanged. Then
//   nodeSetId = SHA-256(DomainTag.NODE_SET_ID || canonical bytes)
// which JSON whitespace, key order and node order cannot change.
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { DomainTag, taggedHash } from '../domain-tags.ts';
import type { CryptoSuite } from '../suite/types.ts';
import { readDocument, type ParsedDocument } from './document.ts';
import { NODE_SET_FORMAT_VERSION, type NodeSetDocument } from './types.ts';

/** The document as the CBOR value that is hashed: keys as in JSON, nodes by index, keys as bytes. */
function canonicalValue(doc: ParsedDocument): CborValue {
  return {
    qkmsNodeSet: NODE_SET_FORMAT_VERSION,
    epoch: doc.epoch,
    ...(doc.predecessor === undefined ? {} : { predecessor: doc.predecessor }),
    threshold: doc.threshold,
    nodes: doc.nodes.map((node) => ({
      index: node.index,
      peerId: node.peerId,
      multiaddrs: node.multiaddrs,
      kemPublicKey: node.kemPublicKey,
    })),
    admins: { threshold: doc.admins.threshold, keys: doc.admins.keys },
    params: { ...doc.params },
  };
}

/** The id of a validated document. */
export function idOf(suite: CryptoSuite, doc: ParsedDocument): Uint8Array {
  const bytes = encodeCanonical(canonicalValue(doc));
  return taggedHash((data) => suite.sha256(data), DomainTag.NODE_SET_ID, bytes);
}

/** A validated document with its id and its look-ups by index and PeerId. */
export function toNodeSetDocument(doc: ParsedDocument, id: Uint8Array): NodeSetDocument {
  const byPeerId = new Map(doc.nodes.map((node) => [node.peerId, node]));
  return {
    id,
    epoch: doc.epoch,
    ...(doc.predecessor === undefined ? {} : { predecessor: doc.predecessor }),
    threshold: doc.threshold,
    nodes: doc.nodes,
    admins: doc.admins,
    params: doc.params,
    node: (index) => (Number.isSafeInteger(index) ? doc.nodes[index - 1] : undefined),
    nodeByPeerId: (peerId) => byPeerId.get(peerId),
  };
}

/**
 * Validates a `document` object (parsed JSON) without its signatures. For
 * tools that show or prepare a node set; a node or client trusts only what
 * parseSignedNodeSet returns.
 */
export function parseNodeSetDocument(suite: CryptoSuite, document: unknown): NodeSetDocument {
  const doc = readDocument(document);
  return Object.freeze(toNodeSetDocument(doc, idOf(suite, doc)));
}

/** The deterministic CBOR encoding of a validated document: what nodeSetId hashes. */
export function nodeSetCanonicalBytes(document: unknown): Uint8Array {
  return encodeCanonical(canonicalValue(readDocument(document)));
}

/** nodeSetId = SHA-256(NODE_SET_ID tag || canonical CBOR of the validated document), 32 bytes. */
export function nodeSetId(suite: CryptoSuite, document: unknown): Uint8Array {
  return idOf(suite, readDocument(document));
}
