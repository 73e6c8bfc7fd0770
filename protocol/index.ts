// Public entry of the protocol layer (package entry `qkms/protocol`): what a
// publisher, a player runtime or an admin tool uses beside the client library
// — node-set documents, manifests and receipts, the types the client's
// options and results name, errors and rejection codes, the crypto suite, hex
// helpers. Wire codecs, frames, domain tags and the method table are not
// here: the layers of this repository import them from internal.ts
// (docs/decisions/0011-protocol-public-surface.md; docs/integration.md lists
// these names).
export { ErrorCode, LocalErrorCode, QkmsError, isQkmsError } from './errors.ts';
export {
  REJECTIONS,
  RejectionCode,
  isRejectionCode,
  rejectionAction,
  type RejectionAction,
} from './rejection.ts';
export {
  ADDRESS_BYTES,
  CEK_BYTES,
  ID_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
} from './constants.ts';
export { fromHex, toHex, wipe } from './bytes.ts';
export {
  defaultSuite,
  nativeSuite,
  nobleSuite,
  requireNativeSuite,
  type CryptoSuite,
} from './suite/index.ts';
export {
  DEFAULT_NODE_SET_PARAMS,
  MAX_CHAIN_LENGTH,
  MAX_NODE_SET_JSON_CHARS,
  createNodeSetDocument,
  nodeSetId,
  nodeSetLineage,
  parseNodeSetDocument,
  parseSignedNodeSet,
  parseSignedNodeSetJson,
  serializeSignedNodeSet,
  signNodeSet,
  verifyNodeSetChain,
  verifyNodeSetSignature,
  type NodeEntry,
  type NodeSet,
  type NodeSetDocument,
  type NodeSetDocumentInput,
  type NodeSetDocumentJson,
  type NodeSetParams,
  type NodeSetSignatureJson,
  type SignedNodeSetJson,
} from './node-set/index.ts';
export type { Delegation, ParsedDelegation, WalletSigner } from './grant/delegation.ts';
export {
  ABILITIES,
  MAX_CAPABILITY_CONTENT_IDS,
  type Ability,
  type Capabilities,
} from './grant/recap.ts';
export {
  decodeManifest,
  encodeManifest,
  manifestHash,
  verifyManifest,
  type AccessPolicy,
  type Manifest,
  type ManifestBody,
} from './manifest.ts';
export {
  CONTENT_ID,
  POLICY_LIMITS,
  USER_ADDRESS,
  evaluatePolicy,
  normalizePolicy,
  policyChains,
  policyFromCbor,
  policyFromJson,
  policyToCbor,
  policyToJson,
  readsChain,
  type CallResult,
  type ChainRead,
  type Comparator,
  type EvmBalanceCondition,
  type EvmCallCondition,
  type PolicyContext,
  type PolicyJson,
  type TimeCondition,
  type TokenStandard,
  type Verdict,
} from './policy/index.ts';
export { verifyReceipt, type PublishReceipt, type ReceiptBody } from './messages/receipt.ts';
export type { NodeHealth, NodeInfo } from './messages/info.ts';
