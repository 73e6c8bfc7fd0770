// Public entry of the client layer: what a publisher or a player runtime
// embeds — wallets, sessions, and the quorum client that publishes and
// recovers content keys.
export { RecoverError, RevokedError, type RecoverFailure } from './errors.ts';
export { LATENCY_EWMA_ALPHA, LatencyTracker } from './latency.ts';
export { ConnectionPool, DIAL_TIMEOUT_MS, MAX_STREAMS_PER_NODE } from './pool.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export {
  DEFAULT_HEDGE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_REQUEST_TIMEOUT_MS,
  MIN_REQUEST_TIMEOUT_MS,
  QuorumClient,
  type ClientTransport,
  type QuorumClientOptions,
} from './quorum-client.ts';
export type { NodeOutcome, NodeReport } from './report.ts';
export {
  effectiveBound,
  type RevokeNodeReport,
  type RevokeNodeStatus,
  type RevokeResult,
} from './revoke.ts';
export {
  MIN_SESSION_LIFETIME_MS,
  RENEW_REMAINING_FLOOR_MS,
  RENEW_REMAINING_FRACTION,
  Session,
  type Grant,
  type SessionOptions,
} from './session.ts';
export {
  MAX_REPLY_BYTES,
  PROTOCOL_IDS,
  type NodeRequestOptions,
  type NodeTransport,
  type ProtocolName,
} from './transport.ts';
export {
  walletFromEip1193,
  walletFromPrivateKey,
  walletFromViemAccount,
  type Eip1193Provider,
  type ViemLikeAccount,
  type WalletSigner,
} from './wallet.ts';
