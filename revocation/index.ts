// Public entry of the revocation layer: records, the live set, its
// persistence interface and the anti-entropy logic. No transport here.
export {
  FETCH_BATCH_IDS,
  PUSH_BATCH_BYTES,
  answerDigest,
  reconcile,
  type SyncPeer,
  type SyncResult,
} from './anti-entropy.ts';
export { ByteTable } from './byte-table.ts';
export { IdDigest, differingChildren, sameSummary, type DigestSummary } from './digest.ts';
export {
  LiveRevocations,
  type Accepted,
  type LiveRevocationsDeps,
  type RecordSource,
  type RevocationStore,
} from './live.ts';
export {
  MAX_REASON_BYTES,
  MAX_REVOCATION_SIGNATURES,
  REVOCATION_KINDS,
  TARGET_BYTES,
  createRevocationBody,
  decodeRevocation,
  readRevocation,
  revocationId,
  revocationSignedMessage,
  signRevocation,
  verifyRevocation,
  type AdminSignature,
  type RevocationBody,
  type RevocationKind,
  type RevocationRecord,
} from './record.ts';
export { RevocationSet, type Principals } from './set.ts';
