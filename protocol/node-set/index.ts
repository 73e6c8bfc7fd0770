// The node-set document (DESIGN.md, "The node-set document"; docs/protocol.md
// §5): the JSON file, signed by k of m admins, that defines one quorum epoch —
// threshold t, the n nodes (index 1..n, PeerId, multiaddrs, X-Wing KEM public
// key), the admin keys and their threshold, and the protocol parameters.
//   types.ts       the shapes, limits and defaults
//   fields.ts      field readers and the INVALID_NODE_SET error naming a path
//   document.ts    the `document` object: strict reader, normalized JSON, create
//   canonical.ts   canonical CBOR and nodeSetId
//   signatures.ts  admin signatures, k of m
//   json.ts        the signed file: parse (the only way to a trusted NodeSet), serialize
//   chain.ts       epochs: verify the chain of successors from a pinned set, its lineage
export {
  DEFAULT_NODE_SET_PARAMS,
  MAX_ADMINS,
  MAX_MULTIADDR_CHARS,
  MAX_MULTIADDRS_PER_NODE,
  MAX_NODE_SET_JSON_CHARS,
  MAX_SIWE_DOMAIN_CHARS,
  NODE_SET_FORMAT_VERSION,
  NODE_SET_PARAM_BOUNDS,
  type NodeEntry,
  type NodeEntryInput,
  type NodeEntryJson,
  type NodeSet,
  type NodeSetAdmins,
  type NodeSetDocument,
  type NodeSetDocumentInput,
  type NodeSetDocumentJson,
  type NodeSetParams,
  type NodeSetSignatureJson,
  type SignedNodeSetJson,
} from './types.ts';
export { createNodeSetDocument } from './document.ts';
export { nodeSetCanonicalBytes, nodeSetId, parseNodeSetDocument } from './canonical.ts';
export { signNodeSet, verifyNodeSetSignature } from './signatures.ts';
export { parseSignedNodeSet, parseSignedNodeSetJson, serializeSignedNodeSet } from './json.ts';
export { MAX_CHAIN_LENGTH, nodeSetLineage, verifyNodeSetChain } from './chain.ts';
