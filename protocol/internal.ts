// In-repo entry of the protocol layer: everything revocation/, node/,
// client/, cli/ and the tests of this repository need, codec internals
// included (docs/decisions/0011-protocol-public-surface.md). Integrators
// import protocol/index.ts, the public surface; the linter lets only the
// layers of this repository import this file. Everything index.ts exports is
// here too, so a file needs one of the two, never both.
export { ErrorCode, LocalErrorCode, QkmsError, isQkmsError, rejectionCodeOf } from './errors.ts';
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
  MAX_FRAME_BYTES,
  MAX_NODES,
  MAX_REVOCATION_BYTES,
  MAX_TEXT_BYTES,
  NONCE_BYTES,
  PROTOCOL_VERSION,
  RECORD_VERSION,
  SUPPORTED_VERSIONS,
} from './constants.ts';
export { concatBytes, copyBytes, fromHex, toHex, utf8, wipe } from './bytes.ts';
export { BoundedMap } from './bounded-map.ts';
export { DomainTag, tagBytes, taggedHash } from './domain-tags.ts';
export { decodeCanonical, encodeCanonical, type CborValue } from './codec/cbor.ts';
export { coalesceWrites, lazyWindowUpdates, withCoalescedWrites } from './codec/coalesce-writes.ts';
export {
  malformed,
  readArray,
  readBytes,
  readLiteral,
  readMap,
  readText,
  readTimestamp,
  readUint,
  readRecordVersion,
  readVersion,
  type CborMap,
} from './codec/read.ts';
export {
  FrameAssembler,
  encodeFrame,
  isTrickled,
  readFrameHeader,
  type FrameHeader,
} from './codec/frame.ts';
export {
  CHANNEL_KINDS,
  CHANNEL_PROTOCOL,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  channelAnswerGate,
  channelRequestGate,
  type FrameGate,
  MAX_CHANNEL_ID,
  decodeChannelAnswer,
  decodeChannelRequest,
  encodeChannelAnswer,
  encodeChannelRequest,
  type ChannelKind,
} from './codec/channel.ts';
export {
  ANSWER_DEADLINE_MS,
  METHODS,
  METHOD_NAMES,
  methodOfProtocol,
  requestTypesOf,
  type Method,
  type MethodSpec,
  type RequestTypeOf,
  type StreamLimits,
} from './methods.ts';
export { HPKE_SUITE, HPKE_TAG_BYTES, open, seal, type SealContext, type Sealed } from './seal.ts';
export {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  HYBRID_LENGTHS,
  MLDSA65_LENGTHS,
  XWING_LENGTHS,
  defaultSuite,
  nativeSuite,
  nobleSuite,
  requireNativeSuite,
  type Aes256Gcm,
  type CryptoSuite,
  type Decapsulator,
  type Encapsulation,
  type SignatureScheme,
  type SigningKey,
  type XWingKem,
} from './suite/index.ts';
export { ed25519PublicKeyFromPeerId, peerIdFromEd25519PublicKey } from './peer-id.ts';
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
  type NodeSetDocumentInput,
  type NodeSetDocumentJson,
  type NodeSetParams,
  type SignedNodeSetJson,
  type NodeSetDocument,
  type NodeSetSignatureJson,
} from './node-set/index.ts';
export {
  checkDelegationBindings,
  createDelegation,
  delegationHash,
  verifyDelegation,
  verifyDelegationSignature,
  type CreateDelegationParams,
  type Delegation,
  type DelegationBindings,
  type ParsedDelegation,
  type WalletSigner,
} from './grant/delegation.ts';
export {
  ABILITIES,
  MAX_CAPABILITY_CONTENT_IDS,
  capabilitiesCover,
  type Ability,
  type Capabilities,
} from './grant/recap.ts';
export {
  checkRequestFreshness,
  recoverSealContext,
  signRecoverRequest,
  verifyRecoverRequestSignature,
  type NewRequest,
  type RecoverRequestBody,
  type SignedRecoverRequest,
} from './grant/request.ts';
export {
  cekCommitment,
  checkCek,
  checkShare,
  createManifest,
  manifestFromCbor,
  manifestHash,
  manifestToCbor,
  openCek,
  publishSealContext,
  verifyManifest,
  type WalletCheck,
  type AccessPolicy,
  type Manifest,
  type ManifestBody,
  type NewManifest,
  decodeManifest,
  encodeManifest,
} from './manifest.ts';
export {
  SCALAR_BYTES,
  SHARE_BYTES,
  checkShareBytes,
  combineKey,
  dealKey,
  shareFromBytes,
  shareToBytes,
  unwrapCek,
  wrapCek,
} from './sharing.ts';
export {
  COMMITMENT_BYTES,
  SHARING_RECORD_VERSION,
  attestSharing,
  attestationVerifies,
  sharingBodyHash,
  sharingRecordFromCbor,
  sharingRecordToCbor,
  verifySharingRecord,
  withAttestations,
  type SharingAttestation,
  type SharingRecord,
  type SharingRecordBody,
  type SharingRecordNodeSet,
} from './sharing-record.ts';
export {
  CONTENT_ID,
  POLICY_LIMITS,
  USER_ADDRESS,
  balanceRead,
  callRead,
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
export {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageOf,
  type MessageType,
} from './messages/registry.ts';
export { MAX_REVSYNC_RECORDS } from './messages/fields.ts';
export { DIGEST_CHILDREN_BYTES, MAX_REVSYNC_IDS } from './messages/revsync.ts';
export { type RevokeStatus } from './messages/revoke.ts';
export { type NodeHealth, type NodeInfo } from './messages/info.ts';
export {
  MAX_AUDIT_HEAD_BYTES,
  decodeAuditHead,
  encodeAuditHead,
  signAuditHead,
  verifyAuditHead,
  type AuditHeadBody,
  type SignedAuditHead,
} from './messages/audit-head.ts';
export {
  signReceipt,
  verifyReceipt,
  type PublishReceipt,
  type ReceiptBody,
} from './messages/receipt.ts';
export {
  MAX_RESHARE_BATCH,
  MAX_RESHARE_LIST,
  type ReshareCommitResult,
  type ReshareEnvelope,
  type ReshareRecordStatus,
} from './messages/reshare.ts';
export {
  commitBatch,
  dealBatch,
  parseSource,
  recordHash,
  redistributedBody,
  type BlameReason,
  type CommitOutcome,
  type DealInput,
  type DealerChoice,
  type DealtBatch,
  type Dealing,
  type DealtItem,
  type ForwardedDealing,
  type Handover,
  type ParsedSource,
  type SharingSource,
} from './reshare/dealing.ts';
export { MAX_NODE_SET_FILE_BYTES, type CutoverState } from './messages/cutover.ts';
export {
  cutoverSigningBytes,
  decodeCutoverRecord,
  encodeCutoverRecord,
  signCutover,
  verifyCutover,
  type CutoverBody,
  type CutoverRecord,
} from './reshare/cutover.ts';
export {
  MAX_TICKET_LIFETIME_MS,
  signTicket,
  verifyTicket,
  type ReshareTicket,
  type ReshareTicketBody,
} from './reshare/ticket.ts';
