// The store's side of the integrity mark (docs/decisions/0008-storage-integrity.md):
// at every open, what the store holds is compared with what the mark vouches
// for (integrity.ts); what the node acknowledged and no longer holds is
// reported by audit range and content id, and the report is written beside
// the mark. The first open with no mark adopts the store as found.
import type { Logger } from '../log.ts';
import { AUDIT_KEY_BYTES, MetaName, auditSeq, contentKey, kindRange, metaKey } from './keys.ts';
import type { IntegrityMark, MarkState } from './integrity-mark.ts';
import {
  findLoss,
  isLoss,
  lossSummary,
  writeLossReport,
  type IntegrityLoss,
  type StoreView,
} from './integrity.ts';
import { errorName, getValue, openValue, type Db } from './level-db.ts';
import type { RecordCipher } from './record-cipher.ts';
import { decodeAuditHead, type AuditHeadRecord } from './records.ts';

/** What the last integrity check found missing, and where the report went. */
export interface IntegrityFinding {
  readonly loss: IntegrityLoss;
  /** One line: counts and sequence numbers only. */
  readonly summary: string;
  /** The loss report's path, or undefined if it could not be written. */
  readonly reportPath: string | undefined;
}

/** What a check reads and where it reports. */
export interface CheckContext {
  readonly db: Db;
  readonly cipher: RecordCipher;
  readonly mark: IntegrityMark;
  readonly integrityDir: string;
  readonly clock: () => number;
  readonly log: Logger | undefined;
}

/** The audit head the store itself records (meta), or undefined for an empty log. */
export async function readMetaAuditHead(
  db: Db,
  cipher: RecordCipher,
): Promise<AuditHeadRecord | undefined> {
  const key = metaKey(MetaName.auditHead);
  const raw = await getValue(db, key);
  return raw === undefined ? undefined : decodeAuditHead(openValue(cipher, key, raw));
}

/** First open with a mark: what the store holds now becomes the baseline. */
export async function adoptAsFound(ctx: CheckContext): Promise<void> {
  const ids: Uint8Array[] = [];
  for await (const key of ctx.db.keys(kindRange('content')))
    ids.push(new Uint8Array(key.subarray(1)));
  const head = await readMetaAuditHead(ctx.db, ctx.cipher);
  await ctx.mark.adopt(ids, head ?? { seq: 0, hash: new Uint8Array(32) });
  if (ids.length > 0 || head !== undefined)
    ctx.log?.warn('store has no integrity mark yet: adopting it as found', {
      contents: ids.length,
      auditHead: head?.seq ?? 0,
    });
}

/**
 * Compares the store with what the mark vouches for; reports any loss (log
 * and loss report) and returns it, or undefined if nothing is missing.
 */
export async function checkAgainstMark(
  ctx: CheckContext,
  mark: MarkState,
  reading: Parameters<typeof findLoss>[1],
  recovery: readonly string[],
): Promise<IntegrityFinding | undefined> {
  const view: StoreView = {
    auditSeqs: () => auditSeqs(ctx.db),
    hasContent: async (id) => (await getValue(ctx.db, contentKey(id))) !== undefined,
  };
  const loss = await findLoss(mark, reading, view, recovery);
  if (!isLoss(loss)) return undefined;
  let reportPath: string | undefined;
  try {
    reportPath = await writeLossReport(ctx.integrityDir, loss, {
      detectedAt: ctx.clock(),
      mark,
    });
  } catch (e) {
    ctx.log?.error('storage loss report could not be written', { error: errorName(e) });
  }
  const first = loss.audit[0];
  ctx.log?.error('store lacks acknowledged data: not ready until the operator acts', {
    auditFrom: first?.from ?? null,
    auditTo: loss.audit.at(-1)?.to ?? null,
    auditRanges: loss.audit.length,
    contents: loss.contents.length,
    markProblems: loss.markProblems.length,
    recoveryDrops: loss.recovery.length,
    report: reportPath ?? null,
  });
  return { loss, summary: lossSummary(loss), reportPath };
}

async function* auditSeqs(db: Db): AsyncGenerator<number> {
  for await (const key of db.keys(kindRange('audit'))) {
    const k = new Uint8Array(key);
    if (k.length === AUDIT_KEY_BYTES) yield auditSeq(k);
  }
}
