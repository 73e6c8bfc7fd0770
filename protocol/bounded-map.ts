// A Map with a fixed number of entries, least recently used evicted first
// (ox's LruMap does the same for its caches). Every cache that an attacker
// can feed — verdicts by request bytes, decoded manifests — is one of these,
// so none grows without bound.

/** A Map holding at most `maxEntries`; get() refreshes an entry, set() evicts the least recently used. */
export class BoundedMap<K, V> {
  readonly #max: number;
  readonly #entries = new Map<K, V>();

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`BoundedMap: maxEntries must be a positive integer, got ${maxEntries}`);
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get maxEntries(): number {
    return this.#max;
  }

  /** The value, marked most recently used; undefined if absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores the value as most recently used; past the bound the least recently used entry goes. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }
}
