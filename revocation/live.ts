// The live revocation set of one node: the records it durably holds, the
// membership tables a recover checks, and the digest anti-entropy compares.
// Storage comes through RevocationStore (LevelDB on a node, memory in tests);
// transports (node/revocation) call `accept` and the anti-entropy functions.
//
// accept(bytes): decode -> known id? 'unchanged' (no signature work) ->
// verify admin signatures -> apply to membership AT ONCE (a request in
// flight sees it at step 9) -> durable put -> digest -> 'stored'. If the
// durable write fails the caller gets an error and no acknowledgement, but
// the record stays applied: it is validly signed, so refusing its target is
// the safe side, and the next accept of it stores it.
import {
  ErrorCode,
  ID_BYTES,
  QkmsError,
  isQkmsError,
  toHex,
  type CryptoSuite,
  type NodeSet,
} from '../protocol/index.ts';
import { ByteTable } from './byte-table.ts';
import { IdDigest, type DigestSummary } from './digest.ts';
import { decodeRevocation, verifyRevocation, type RevocationRecord } from './record.ts';
import { RevocationSet, type Principals } from './set.ts';

/** Where a node keeps its records: durable, keyed by record id, ordered by id. */
export interface RevocationStore {
  hasRevocation(id: Uint8Array): Promise<boolean>;
  getRevocation(id: Uint8Array): Promise<Uint8Array | undefined>;
  /** Durable before it resolves. */
  putRevocation(id: Uint8Array, record: Uint8Array): Promise<void>;
  /** Every id starting with `prefix`, ascending. */
  revocationIds(prefix: Uint8Array): Promise<Uint8Array[]>;
  /** Up to `limit` records with id > `after` (empty: from the first), ascending. */
  listRevocations(
    after: Uint8Array,
    limit: number,
  ): Promise<{ id: Uint8Array; record: Uint8Array }[]>;
}

export type RecordSource = 'client' | 'push' | 'sync';

export interface Accepted {
  readonly record: RevocationRecord;
  readonly status: 'stored' | 'unchanged';
}

export interface LiveRevocationsDeps {
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  /**
   * The sets before nodeSet in its verified chain (decision 0017): a record
   * one of them issued stays in force, checked against that set's admins.
   */
  readonly ancestors?: readonly NodeSet[];
  readonly store: RevocationStore;
  /** Called once per record newly stored (metrics, pushing it on). */
  readonly onStored?: (record: RevocationRecord, source: RecordSource) => void;
  /** Called for every record offered: stored, already held, or refused (metrics). */
  readonly onOutcome?: (source: RecordSource, result: 'stored' | 'unchanged' | 'invalid') => void;
}

/** The set of the lineage that issued records bound to `id`: the current one or an ancestor. */
function issuerOf(deps: LiveRevocationsDeps, id: Uint8Array): NodeSet | undefined {
  if (deps.suite.equalBytes(id, deps.nodeSet.id)) return deps.nodeSet;
  return deps.ancestors?.find((s) => deps.suite.equalBytes(s.id, id));
}

/** Records read per step while loading. */
const LOAD_PAGE = 512;

export class LiveRevocations {
  readonly #deps: LiveRevocationsDeps;
  readonly #set = new RevocationSet();
  readonly #digest = new IdDigest();
  /** Accepts in flight by id: two copies of one record are stored (and counted) once. */
  readonly #pending = new Map<string, Promise<Accepted>>();
  /** Stored records of another node set: never applied, listed or sent (reported in `foreign`). */
  readonly #foreign = new ByteTable(ID_BYTES);

  private constructor(deps: LiveRevocationsDeps) {
    this.#deps = deps;
  }

  /**
   * Builds the live set from every record in the store. Stored records were
   * verified when accepted, and the store authenticates what it returns, so
   * they are decoded, not verified again; one naming another node set is
   * skipped (and counted in `foreign`).
   */
  static async load(deps: LiveRevocationsDeps): Promise<LiveRevocations> {
    const live = new LiveRevocations(deps);
    let after: Uint8Array = new Uint8Array(0);
    for (;;) {
      const page = await deps.store.listRevocations(after, LOAD_PAGE);
      for (const { id, record } of page) {
        const decoded = decodeRevocation(deps.suite, record);
        if (!deps.suite.equalBytes(decoded.id, id))
          throw new QkmsError(
            ErrorCode.STORE_CORRUPT,
            'revocation store: a record under another id',
          );
        if (issuerOf(deps, decoded.body.nodeSetId) !== undefined) {
          live.#set.add(decoded.body);
          live.#digest.add(decoded.id);
        } else {
          live.#foreign.set(decoded.id);
        }
      }
      const last = page.at(-1);
      if (last === undefined || page.length < LOAD_PAGE) return live;
      after = last.id;
    }
  }

  /** Records applied. */
  get size(): number {
    return this.#digest.count;
  }

  /** Stored records of another node set, not applied. */
  get foreign(): number {
    return this.#foreign.size;
  }

  get memoryBytes(): number {
    return this.#set.memoryBytes;
  }

  /** Throws QkmsError REVOKED when any principal is revoked. Synchronous. */
  assertNotRevoked(principals: Principals): void {
    this.#set.assertNotRevoked(principals);
  }

  revokedBy(principals: Principals): ReturnType<RevocationSet['revokedBy']> {
    return this.#set.revokedBy(principals);
  }

  /**
   * Takes a record from the outside: resolves once it is durably held
   * ('stored', or 'unchanged' if it already was). Throws QkmsError
   * BAD_REVOCATION for a record that does not decode or verify.
   */
  accept(bytes: Uint8Array, source: RecordSource): Promise<Accepted> {
    const outcome = this.#deps.onOutcome;
    let record: RevocationRecord;
    try {
      record = decodeRevocation(this.#deps.suite, bytes);
    } catch (e) {
      outcome?.(source, 'invalid');
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const key = toHex(record.id);
    let work = this.#pending.get(key);
    if (work === undefined) {
      work = this.#accept(record, source).finally(() => {
        this.#pending.delete(key);
      });
      this.#pending.set(key, work);
    }
    return work.then(
      (accepted) => {
        outcome?.(source, accepted.status);
        return accepted;
      },
      (e: unknown) => {
        if (isQkmsError(e, ErrorCode.BAD_REVOCATION)) outcome?.(source, 'invalid');
        throw e;
      },
    );
  }

  async #accept(record: RevocationRecord, source: RecordSource): Promise<Accepted> {
    const { suite, store } = this.#deps;
    const issuer = issuerOf(this.#deps, record.body.nodeSetId);
    if (issuer === undefined)
      throw new QkmsError(ErrorCode.BAD_REVOCATION, 'record names another node set');
    if (await store.hasRevocation(record.id)) return { record, status: 'unchanged' };
    verifyRevocation(suite, issuer, record);
    this.#set.add(record.body);
    await store.putRevocation(record.id, record.bytes);
    this.#digest.add(record.id);
    this.#deps.onStored?.(record, source);
    return { record, status: 'stored' };
  }

  // ---- anti-entropy, local side ----

  summary(prefix: Uint8Array): DigestSummary {
    return this.#digest.summary(prefix);
  }

  children(prefix: Uint8Array): Uint8Array {
    return this.#digest.children(prefix);
  }

  async ids(prefix: Uint8Array): Promise<Uint8Array[]> {
    const ids = await this.#deps.store.revocationIds(prefix);
    return this.#foreign.size === 0 ? ids : ids.filter((id) => !this.#foreign.has(id));
  }

  /** The stored bytes of these records, in order, up to `maxBytes` in all (at least one). */
  async records(ids: readonly Uint8Array[], maxBytes: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      if (this.#foreign.has(id)) continue;
      const record = await this.#deps.store.getRevocation(id);
      if (record === undefined) continue;
      if (out.length > 0 && total + record.length > maxBytes) break;
      out.push(record);
      total += record.length;
    }
    return out;
  }

  /** Up to `limit` applied records with id > `after`, ascending. */
  async list(after: Uint8Array, limit: number): Promise<{ id: Uint8Array; record: Uint8Array }[]> {
    const out: { id: Uint8Array; record: Uint8Array }[] = [];
    let from = after;
    while (out.length < limit) {
      const want = limit - out.length;
      const page = await this.#deps.store.listRevocations(from, want);
      for (const entry of page) if (!this.#foreign.has(entry.id)) out.push(entry);
      const last = page.at(-1);
      if (last === undefined || page.length < want) break;
      from = last.id;
    }
    return out;
  }
}
