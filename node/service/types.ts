// What the request services need from the rest of the node, as narrow
// interfaces: the daemon wires the real implementations; tests wire fakes.
import type {
  CryptoSuite,
  Decapsulator,
  NodeSet,
  RejectionCode,
  SigningKey,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import type { PolicyCheck } from '../policy/gate.ts';
import type { NodeMetrics } from '../metrics.ts';

import type { Principals } from '../../revocation/index.ts';
import type { StoredContent } from '../store/index.ts';

export type { StoredContent };

export interface ContentStore {
  getContent(contentId: Uint8Array): Promise<StoredContent | undefined>;
  /** Durable (synced) before it resolves. */
  putContent(record: StoredContent): Promise<void>;
}

/** Whom a reserved nonce is charged to: its partition of the replay guard. */
export interface NonceOwner {
  /** The wallet that signed the delegation (its 20 bytes). */
  readonly wallet: Uint8Array;
  /** Where the request came from: the admission key of its connection (node/network). */
  readonly source: string;
}

export interface NonceGuard {
  /** Synchronous and cheap: whether (sessionKey, nonce) is reserved or recorded. */
  has(sessionKey: Uint8Array, nonce: Uint8Array): boolean;
  /**
   * Synchronous: false when (sessionKey, nonce) was already used. Throws
   * RATE_LIMITED when the owner's wallet or source holds its share of the
   * guard, BUSY when the guard is full, NOT_READY while the node's clock is
   * behind the guard's clock mark (node/replay-guard.ts).
   */
  reserve(sessionKey: Uint8Array, nonce: Uint8Array, expiresAt: number, owner: NonceOwner): boolean;
  /** Gives back a reservation that was never committed (the request was refused). */
  release(sessionKey: Uint8Array, nonce: Uint8Array): void;
  /** Resolves once the pair is durably recorded. */
  commit(sessionKey: Uint8Array, nonce: Uint8Array): Promise<void>;
}

export type { Principals };

/** Steps 6 and 9 of recover: the live, quorum-wide revocation set (node/revocation). */
export interface RevocationCheck {
  /**
   * Throws QkmsError REVOKED when any principal is revoked, NOT_READY when
   * the set is stale and the node is configured to refuse then.
   * Synchronous: it must not yield.
   */
  assertNotRevoked(principals: Principals): void;
}

export type CustodyEvent =
  | { readonly kind: 'share-released'; readonly principals: Principals }
  | {
      readonly kind: 'recover-refused';
      readonly code: RejectionCode;
      /** What the request proved before it was refused (nothing before its session signature verified). */
      readonly principals: Partial<Principals>;
    }
  | {
      readonly kind: 'share-published';
      readonly principals: Principals;
      readonly status: 'stored' | 'unchanged';
    }
  | {
      /** A handover step for one content (decision 0016): sub-shares dealt, a new share stored, its record complete. */
      readonly kind: 'reshare-dealt' | 'reshare-committed' | 'reshare-held';
      readonly content: Uint8Array;
      /** The successor set the content is moving to. */
      readonly nodeSetId: Uint8Array;
    }
  | {
      /**
       * The cutover to a successor (decision 0017): taken (lineage stored), its
       * pending shares promoted at the next start, or this retired node's shares wiped.
       */
      readonly kind: 'cutover' | 'cutover-promoted' | 'cutover-retired';
      readonly nodeSetId: Uint8Array;
      /** Records promoted or wiped. */
      readonly count?: number;
    }
  | {
      readonly kind: 'revocation-accepted';
      readonly id: Uint8Array;
      readonly revocationKind: string;
      readonly source: string;
    };

/**
 * Step 10: the custody audit log (node/audit/log.ts). `record` resolves once
 * the record is durable; if it rejects (AUDIT_UNAVAILABLE), no share leaves.
 */
export interface CustodyAudit {
  record(event: CustodyEvent): Promise<void>;
}

/** Test-only behaviour, enabled only with QKMS_ENABLE_TEST_FAULTS=1 (cli/node-options.ts). */
export interface TestFaults {
  /** Serve a share with one byte flipped (a lying node). */
  readonly wrongShare?: boolean;
  /** Delay every answer by this long (a slow node). */
  readonly delayMs?: number;
  /** Called between the step-6 revocation check and sealing (to land a revocation in flight). */
  readonly beforeSeal?: () => Promise<void>;
  /** Called after the share's custody record is durable, before sealing (a revocation then). */
  readonly afterCustodyRecord?: () => Promise<void>;
  /** While it returns true, audit writes fail (a broken audit store). */
  readonly auditFailing?: () => boolean;
}

export interface ServiceDeps {
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  /**
   * Ids of the sets this node served, oldest first, ending with nodeSet's
   * (decision 0017): a delegation signed for any of them is accepted.
   */
  readonly lineage: readonly Uint8Array[];
  readonly self: {
    readonly index: number;
    /** The node's libp2p Ed25519 identity: signs publish receipts. */
    readonly identity: SigningKey;
    /** The node's X-Wing key, imported once: opens published shares. */
    readonly kem: Decapsulator;
  };
  readonly store: ContentStore;
  readonly nonces: NonceGuard;
  readonly revocations: RevocationCheck;
  readonly audit: CustodyAudit;
  /** Step 7: the content's access policy, chain conditions from the node's followed state. */
  readonly policy: PolicyCheck;
  readonly clock: () => number;
  /**
   * Requests issued before this time are refused STALE_EPOCH: after an
   * unclean shutdown the node cannot trust its nonce records to be complete.
   * 0 after a clean shutdown.
   */
  readonly epochStart: number;
  /** Per-wallet rate limit (token bucket keyed by wallet); false = RATE_LIMITED. */
  readonly walletRate: (wallet: Uint8Array) => boolean;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly fingerprint: (bytes: Uint8Array) => string;
  readonly faults: TestFaults;
}
