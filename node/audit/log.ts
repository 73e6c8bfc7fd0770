// The node's custody audit log (DESIGN.md, Audit log; recover step 10):
// `record` resolves only once the record is durable, so a share leaves only
// after its record is on disk. Records made while a write is in flight are
// written together in the next synced batch (group commit); their sequence
// numbers and chain links are assigned when that batch is built, so a failed
// write leaves no gap: every record in it is rejected (AUDIT_UNAVAILABLE) and
// the chain continues from the last durable record. After a failed write the
// head is read back from the store before the next batch: the store may have
// reopened onto a state that holds the failed batch after all (LevelDB wrote
// it whole before reporting the error), and the chain must follow what is
// on disk.
import {
  ErrorCode,
  QkmsError,
  type CryptoSuite,
  type SigningKey,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import type { NodeMetrics } from '../metrics.ts';
import type { CustodyAudit, CustodyEvent } from '../service/types.ts';
import {
  GENESIS_HASH,
  createAuditRecord,
  encodeAuditRecord,
  type AuditEvent,
  type AuditKind,
} from './record.ts';

export interface AuditHead {
  readonly seq: number;
  readonly hash: Uint8Array;
}

/** What the log needs of the node store. */
export interface AuditStore {
  /** The last record's sequence number and hash, or undefined for an empty log. */
  auditHead(): Promise<AuditHead | undefined>;
  /** Writes the records and the new head in ONE synced batch; durable before it resolves. */
  appendAudit(
    records: readonly { seq: number; value: Uint8Array }[],
    head: AuditHead,
  ): Promise<void>;
}

export interface AuditLogDeps {
  readonly suite: CryptoSuite;
  readonly store: AuditStore;
  /** The node's identity key: signs every record. */
  readonly signer: SigningKey;
  readonly clock: () => number;
  readonly fingerprint: (bytes: Uint8Array) => string;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  /** TEST ONLY: when it returns true, writes fail (a broken audit store). */
  readonly failing?: () => boolean;
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class AuditLog implements CustodyAudit {
  readonly #deps: AuditLogDeps;
  #head: AuditHead;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #writable = true;
  /** Set after a failed write: re-read the head from the store before the next batch. */
  #headStale = false;

  private constructor(deps: AuditLogDeps, head: AuditHead) {
    this.#deps = deps;
    this.#head = head;
  }

  static async open(deps: AuditLogDeps): Promise<AuditLog> {
    const head = (await deps.store.auditHead()) ?? { seq: 0, hash: GENESIS_HASH };
    deps.metrics.auditHead.set(head.seq);
    return new AuditLog(deps, head);
  }

  /** False after a write failed, until one succeeds again (readiness). */
  get writable(): boolean {
    return this.#writable;
  }

  /** The last durable record. */
  get head(): AuditHead {
    return this.#head;
  }

  record(event: CustodyEvent): Promise<void> {
    const entry = this.#toAuditEvent(event);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ event: entry, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#flushing !== undefined) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      // A record handed in after the loop's last check, before this ran.
      if (this.#pending.length > 0) this.#kick();
    });
  }

  /** Waits for every record handed in so far (shutdown). */
  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flush(): Promise<void> {
    // Let the records of this turn of the event loop join the first batch.
    await Promise.resolve();
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      await this.#write(batch);
    }
  }

  async #write(batch: readonly Pending[]): Promise<void> {
    const { suite, signer, clock, metrics, store } = this.#deps;
    const end = metrics.stageDuration.startTimer({ stage: 'audit_write' });
    try {
      if (this.#deps.failing?.() === true) throw new Error('audit store failing (test fault)');
      if (this.#headStale) {
        this.#head = (await store.auditHead()) ?? { seq: 0, hash: GENESIS_HASH };
        this.#headStale = false;
      }
      let { seq, hash } = this.#head;
      const at = clock();
      const values = batch.map(({ event }) => {
        seq += 1;
        const record = createAuditRecord(suite, signer, { seq, at, prev: hash, event });
        hash = record.hash;
        return { seq, value: encodeAuditRecord(record) };
      });
      const head = { seq, hash };
      await store.appendAudit(values, head);
      this.#head = head;
      this.#writable = true;
      metrics.auditHead.set(seq);
      for (const { event, resolve } of batch) {
        metrics.auditRecords.inc({ kind: event.kind });
        resolve();
      }
    } catch (e) {
      this.#writable = false;
      this.#headStale = true;
      metrics.auditFailures.inc(batch.length);
      this.#deps.log.error('audit write failed', {
        records: batch.length,
        error: e instanceof Error ? e.name : typeof e,
      });
      const error = new QkmsError(
        ErrorCode.AUDIT_UNAVAILABLE,
        'custody record could not be written',
        {
          cause: e,
        },
      );
      for (const { reject } of batch) reject(error);
    } finally {
      end();
    }
  }

  #toAuditEvent(event: CustodyEvent): AuditEvent {
    const fp = this.#deps.fingerprint;
    const kind: AuditKind = event.kind;
    switch (event.kind) {
      case 'share-released':
        return {
          kind,
          wallet: fp(event.principals.wallet),
          session: fp(event.principals.session),
          content: fp(event.principals.content),
        };
      case 'share-published':
        return {
          kind,
          wallet: fp(event.principals.wallet),
          session: fp(event.principals.session),
          content: fp(event.principals.content),
          detail: event.status,
        };
      case 'recover-refused': {
        const p = event.principals;
        return {
          kind,
          code: event.code,
          ...(p.wallet === undefined ? {} : { wallet: fp(p.wallet) }),
          ...(p.session === undefined ? {} : { session: fp(p.session) }),
          ...(p.content === undefined ? {} : { content: fp(p.content) }),
        };
      }
      case 'reshare-dealt':
      case 'reshare-committed':
      case 'reshare-held':
        return { kind, content: fp(event.content), detail: `to ${fp(event.nodeSetId)}` };
      case 'cutover':
      case 'cutover-promoted':
      case 'cutover-retired':
        return {
          kind,
          detail: `to ${fp(event.nodeSetId)}${event.count === undefined ? '' : `, ${event.count} records`}`,
        };
      case 'revocation-accepted':
        return {
          kind,
          revocation: fp(event.id),
          revocationKind: event.revocationKind,
          detail: event.source,
        };
    }
  }
}
