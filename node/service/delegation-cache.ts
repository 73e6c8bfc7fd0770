// Delegation verdicts cached by delegation hash (DESIGN.md, Grants §1): the
// secp256k1 recovery is paid once per session per node, not per request.
// Only successes are cached, and a hit requires the same signature bytes: the
// hash covers the message only, so caching a refusal (or trusting a hit with
// other signature bytes) would let anyone poison or forge an entry.
import {
  toHex,
  verifyDelegationSignature,
  type CryptoSuite,
  type Delegation,
  type ParsedDelegation,
} from '../../protocol/index.ts';

/** Sessions a node remembers at once: ~1 KiB each, so 10k entries is ~10 MiB. */
export const DELEGATION_CACHE_ENTRIES = 10_000;

export class DelegationCache {
  readonly #suite: CryptoSuite;
  readonly #max: number;
  readonly #entries = new Map<string, { parsed: ParsedDelegation; signature: Uint8Array }>();
  readonly #onLookup: (hit: boolean) => void;

  constructor(
    suite: CryptoSuite,
    options: { maxEntries?: number; onLookup?: (hit: boolean) => void } = {},
  ) {
    this.#suite = suite;
    this.#max = options.maxEntries ?? DELEGATION_CACHE_ENTRIES;
    this.#onLookup = options.onLookup ?? (() => undefined);
  }

  /** Phase 1 of delegation verification, from the cache when it can. Throws like verifyDelegationSignature. */
  verify(delegation: Delegation, hash: Uint8Array): ParsedDelegation {
    const key = toHex(hash);
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#suite.equalBytes(entry.signature, delegation.signature)) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#onLookup(true);
      return entry.parsed;
    }
    this.#onLookup(false);
    const parsed = verifyDelegationSignature(this.#suite, delegation);
    this.#entries.delete(key);
    this.#entries.set(key, { parsed, signature: delegation.signature.slice() });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return parsed;
  }

  get size(): number {
    return this.#entries.size;
  }
}
