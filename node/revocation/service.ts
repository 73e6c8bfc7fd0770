// The node's side of revocation: /qkms/revoke (anyone may submit a record
// whose admin signatures verify, or read the records the node holds) and
// /qkms/revsync (node-set members only: anti-entropy, pushes, and the audit
// head exchange of decision 0010), the check recover makes at steps 6 and 9,
// and readiness.
import {
  ErrorCode,
  METHODS,
  QkmsError,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  requestTypesOf,
  type CryptoSuite,
  type NodeSet,
  type SignedAuditHead,
} from '../../protocol/internal.ts';
import {
  LiveRevocations,
  answerDigest,
  type Principals,
  type RecordSource,
  type RevocationRecord,
  type RevocationStore,
} from '../../revocation/index.ts';
import type { Logger } from '../log.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { CustodyAudit, RevocationCheck } from '../service/types.ts';
import type { FreshnessState, RevocationSync } from './sync.ts';

/** Records listed per /qkms/revoke page, also bounded by the frame cap. */
const LIST_PAGE = 64;
/** Room for the message's own fields around the records of a reply. */
const REPLY_OVERHEAD_BYTES = 1024;

/** What answering 'audit-head' needs of the audit witness (node/audit/witness.ts). */
export interface AuditHeadAnswer {
  statement(): SignedAuditHead;
  fromPeer(from: number, head: SignedAuditHead): Promise<void>;
  witnessedOf(index: number): SignedAuditHead | undefined;
}

export interface RevocationServiceDeps {
  /** Records each revocation newly stored ('revocation-accepted'). */
  readonly audit: CustodyAudit;
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  /** The sets before it (decision 0017): their records stay in force. */
  readonly ancestors?: readonly NodeSet[];
  readonly store: RevocationStore;
  readonly clock: () => number;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly fingerprint: (bytes: Uint8Array) => string;
  /** When not fresh, refuse recovers (NOT_READY). */
  readonly refuseStale: boolean;
  /** Answers a peer's 'audit-head'; without it the node refuses the message (MALFORMED). */
  readonly auditHeads?: AuditHeadAnswer;
}

export class RevocationService implements RevocationCheck {
  readonly live: LiveRevocations;
  readonly #deps: RevocationServiceDeps;
  /** Node-set index by PeerId. */
  readonly #peerIndex: ReadonlyMap<string, number>;
  #sync: RevocationSync | undefined;

  private constructor(deps: RevocationServiceDeps, live: LiveRevocations) {
    this.#deps = deps;
    this.#peerIndex = new Map(deps.nodeSet.nodes.map((n) => [n.peerId, n.index]));
    this.live = live;
  }

  /** Loads the live set from the store. */
  static async load(deps: RevocationServiceDeps): Promise<RevocationService> {
    // Loading stores nothing; records accepted later reach the service built from it.
    let onStored: (record: RevocationRecord, source: RecordSource) => void = () => undefined;
    const live = await LiveRevocations.load({
      suite: deps.suite,
      nodeSet: deps.nodeSet,
      ...(deps.ancestors === undefined ? {} : { ancestors: deps.ancestors }),
      store: deps.store,
      onStored: (record, source) => {
        onStored(record, source);
      },
      onOutcome: (source, result) => {
        deps.metrics.revocationRecords.inc({ source, result });
      },
    });
    const service = new RevocationService(deps, live);
    onStored = (record, source) => {
      service.#stored(record, source);
    };
    deps.metrics.revocations.set(live.size);
    if (live.foreign > 0)
      deps.log.warn('stored revocations of another node set are not applied', {
        count: live.foreign,
      });
    return service;
  }

  /** Connects the anti-entropy loop: pushes and freshness go through it. */
  attach(sync: RevocationSync): void {
    this.#sync = sync;
  }

  /** Steps 6 and 9 of recover. Synchronous. */
  assertNotRevoked(principals: Principals): void {
    if (this.#deps.refuseStale) {
      const state = this.state();
      if (state !== 'fresh')
        throw new QkmsError(
          ErrorCode.NOT_READY,
          state === 'stale' ? 'revocations are stale' : 'revocations not yet synced',
        );
    }
    this.live.assertNotRevoked(principals);
  }

  /** Readiness: revocations fresh (never before the sync loop is attached). */
  fresh(): boolean {
    return this.state() === 'fresh';
  }

  /** 'not-yet-synced' until the sync loop is attached and has reached a majority once. */
  state(): FreshnessState {
    const state = this.#sync?.state() ?? 'not-yet-synced';
    this.#deps.metrics.revocationFresh.set(state === 'fresh' ? 1 : 0);
    return state;
  }

  /** Why revocations are not fresh, for /readyz; undefined when they are. */
  reason(): string | undefined {
    return this.#sync === undefined ? 'revocations not yet synced' : this.#sync.reason();
  }

  /** /qkms/revoke: submit a record, or list a page of the records held. */
  async handleRevoke(frame: Uint8Array): Promise<Uint8Array> {
    const message = decodeMessage(frame, METHODS.revoke.maxRequestBytes, requestTypesOf('revoke'));
    if (message.type === 'revoke') {
      const { record, status } = await this.#accept(message.record, 'client');
      return encodeMessage({ type: 'revoke-ok', id: record.id, status });
    }
    const page = await this.#storeOp(() => this.live.list(message.after, LIST_PAGE + 1));
    const records: Uint8Array[] = [];
    let bytes = REPLY_OVERHEAD_BYTES;
    for (const { record } of page.slice(0, LIST_PAGE)) {
      if (records.length > 0 && bytes + record.length > METHODS.revoke.maxReplyBytes) break;
      records.push(record);
      bytes += record.length;
    }
    return encodeMessage({
      type: 'revocations-ok',
      records,
      more: records.length < page.length,
    });
  }

  /** handleRevsync for the peer with PeerId `peerId`, which registerNodeOnly admitted as a node-set member. */
  async handleRevsyncFrom(frame: Uint8Array, peerId: string): Promise<Uint8Array> {
    const from = this.#peerIndex.get(peerId);
    if (from === undefined) throw new QkmsError(ErrorCode.INTERNAL, 'peer not in the node set');
    return this.handleRevsync(frame, from);
  }

  /**
   * /qkms/revsync, from node-set peers only (registerNodeOnly). `from`: the
   * node-set index of the peer, as its connection authenticated it.
   */
  async handleRevsync(frame: Uint8Array, from: number): Promise<Uint8Array> {
    const message = decodeMessage(
      frame,
      METHODS.revsync.maxRequestBytes,
      requestTypesOf('revsync'),
    );
    switch (message.type) {
      case 'audit-head': {
        const heads = this.#deps.auditHeads;
        if (heads === undefined) throw new QkmsError(ErrorCode.MALFORMED, 'audit heads not kept');
        await heads.fromPeer(from, message.head);
        const witnessed = heads.witnessedOf(from);
        return encodeMessage({
          type: 'audit-head-ok',
          head: heads.statement(),
          ...(witnessed === undefined ? {} : { witnessed }),
        });
      }
      case 'revsync-digest': {
        const answer = await this.#storeOp(() =>
          answerDigest(this.live, message.prefix, { count: message.count, xor: message.xor }),
        );
        return encodeMessage({ type: 'revsync-digest-ok', ...answer });
      }
      case 'revsync-fetch': {
        const records = await this.#storeOp(() =>
          this.live.records(message.ids, METHODS.revsync.maxReplyBytes - REPLY_OVERHEAD_BYTES),
        );
        return encodeMessage({ type: 'revsync-records', records });
      }
      case 'revsync-push': {
        let stored = 0;
        for (const bytes of message.records) {
          const { status } = await this.#accept(bytes, 'push');
          if (status === 'stored') stored += 1;
        }
        return encodeMessage({
          type: 'revsync-push-ok',
          stored,
          unchanged: message.records.length - stored,
        });
      }
    }
  }

  async #accept(
    bytes: Uint8Array,
    source: RecordSource,
  ): Promise<{ record: RevocationRecord; status: 'stored' | 'unchanged' }> {
    return this.#storeOp(() => this.live.accept(bytes, source));
  }

  /** A store failure is INTERNAL on the wire (and logged); protocol errors pass through. */
  async #storeOp<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (
        isQkmsError(e) &&
        e.code !== ErrorCode.STORE_CORRUPT &&
        e.code !== ErrorCode.INVALID_ARGUMENT
      )
        throw e;
      const corrupt = isQkmsError(e, ErrorCode.STORE_CORRUPT);
      this.#deps.metrics.storeErrors.inc({ kind: corrupt ? 'corrupt' : 'io' });
      this.#deps.log.error('revocation store failed', { corrupt });
      throw new QkmsError(ErrorCode.INTERNAL, 'revocation store failed', { cause: e });
    }
  }

  #stored(record: RevocationRecord, source: RecordSource): void {
    const { metrics, log, clock, fingerprint } = this.#deps;
    metrics.revocations.set(this.live.size);
    metrics.revocationLag.observe(Math.max(0, clock() - record.body.issuedAt) / 1000);
    log.info('revocation stored', {
      id: fingerprint(record.id),
      kind: record.body.kind,
      target: fingerprint(record.body.target),
      source,
    });
    // After the fact: refusing the target needs no record, and a failed write is counted and logged.
    this.#deps.audit
      .record({
        kind: 'revocation-accepted',
        id: record.id,
        revocationKind: record.body.kind,
        source,
      })
      .catch(() => undefined);
    if (source === 'client') this.#sync?.push(record);
  }
}
