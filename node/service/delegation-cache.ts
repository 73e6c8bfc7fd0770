// Delegation verdicts (DESIGN.md, Grants §1): the wallet's secp256k1 recovery
// (about 1.8 ms) is paid once per delegation per node, whether the verdict is
// yes or no.
//
// Phase 1 of a delegation check (verifyDelegationSignature) depends on the
// delegation's message and signature bytes and on nothing else, so both
// verdicts are remembered keyed by those exact bytes: the message's hash and
// the whole signature. A refusal is never remembered under the hash alone —
// the hash does not cover the signature, so anyone could then poison the
// entry of an honest delegation by sending its message with a wrong signature.
// Without the refusal cache, the same bad request resent for its whole
// lifetime cost a full recovery per copy: about 540 copies a second kept a
// core busy.
import {
  BoundedMap,
  ErrorCode,
  QkmsError,
  verifyDelegationSignature,
  type CryptoSuite,
  type Delegation,
  type ParsedDelegation,
} from '../../protocol/internal.ts';

/** Delegations a node remembers as good at once: ~1 KiB each, so 10k entries is ~10 MiB. */
export const DELEGATION_CACHE_ENTRIES = 10_000;
/** Refused delegations remembered at once: ~250 bytes each (key and code), so ~2.5 MiB. */
export const DELEGATION_REFUSAL_ENTRIES = 10_000;

export type DelegationLookup = 'hit' | 'refused' | 'miss';

export interface DelegationCacheOptions {
  readonly maxEntries?: number;
  readonly maxRefusals?: number;
  /** Every lookup's outcome: `miss` is one signature recovery (a metric counts them). */
  readonly onLookup?: (outcome: DelegationLookup) => void;
  /** Phase 1 itself; verifyDelegationSignature unless a test counts the calls. */
  readonly verify?: (suite: CryptoSuite, delegation: Delegation) => ParsedDelegation;
}

interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

export class DelegationCache {
  readonly #suite: CryptoSuite;
  readonly #verify: (suite: CryptoSuite, delegation: Delegation) => ParsedDelegation;
  readonly #good: BoundedMap<string, { parsed: ParsedDelegation; signature: Uint8Array }>;
  readonly #refused: BoundedMap<string, Refusal>;
  readonly #onLookup: (outcome: DelegationLookup) => void;

  constructor(suite: CryptoSuite, options: DelegationCacheOptions = {}) {
    this.#suite = suite;
    this.#verify = options.verify ?? verifyDelegationSignature;
    this.#good = new BoundedMap(options.maxEntries ?? DELEGATION_CACHE_ENTRIES);
    this.#refused = new BoundedMap(options.maxRefusals ?? DELEGATION_REFUSAL_ENTRIES);
    this.#onLookup = options.onLookup ?? (() => undefined);
  }

  /**
   * Phase 1 of delegation verification, from the cache when it can; `hash` is
   * delegationHash(delegation), which the caller has already computed.
   * Throws like verifyDelegationSignature, the same refusal for the same bytes.
   */
  verify(delegation: Delegation, hash: Uint8Array): ParsedDelegation {
    const key = String.fromCharCode(...hash);
    const good = this.#good.get(key);
    if (good !== undefined && this.#suite.equalBytes(good.signature, delegation.signature)) {
      this.#onLookup('hit');
      return good.parsed;
    }
    const refusalKey = key + String.fromCharCode(...delegation.signature);
    const refusal = this.#refused.get(refusalKey);
    if (refusal !== undefined) {
      this.#onLookup('refused');
      throw new QkmsError(refusal.code, refusal.message);
    }
    this.#onLookup('miss');
    let parsed: ParsedDelegation;
    try {
      parsed = this.#verify(this.#suite, delegation);
    } catch (e) {
      // Only a verdict on the bytes is remembered; anything else (a bug) is not.
      if (e instanceof QkmsError && e.code === ErrorCode.DELEGATION_INVALID)
        this.#refused.set(refusalKey, { code: e.code, message: e.message });
      throw e;
    }
    this.#good.set(key, { parsed, signature: delegation.signature.slice() });
    return parsed;
  }

  /** Remembered good delegations. */
  get size(): number {
    return this.#good.size;
  }

  /** Remembered refused delegations. */
  get refusals(): number {
    return this.#refused.size;
  }
}
