// Compares what LevelDB recovered with what the node had acknowledged as
// durable (integrity-mark.ts; docs/decisions/0008), and says exactly what is
// missing: which audit sequence numbers and which content ids. The report is
// written for the operator, and for the peers' re-deal of the lost shares
// once share redistribution exists, to DIR/db-integrity/loss-report.json.
//
// LevelDB 1.20 as classic-level builds it has `paranoid_checks` off and no way
// to turn it on: recovery drops a log block that fails its checksum and says
// so only in its own LOG file. So the equivalent here: the LOG lines of this
// open that report dropped bytes or corruption are read and count as a
// finding, and the mark catches what they do not say.
import { readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../../protocol/index.ts';
import type { MarkReading, MarkState } from './integrity-mark.ts';

export const LOSS_REPORT_FILE = 'loss-report.json';
/** LevelDB's LOG lines that mean recovery skipped data (db_impl.cc, log_reader.cc). */
const RECOVERY_DROP = /dropping \d+ bytes|corruption|ignoring error/i;
/** LOG lines kept in a report: enough to act on, bounded. */
const MAX_RECOVERY_LINES = 20;

export interface AuditRange {
  readonly from: number;
  readonly to: number;
}

/** What is missing of what the node acknowledged. */
export interface IntegrityLoss {
  /** Audit sequence numbers the mark vouches for that the store lacks, as ranges. */
  readonly audit: readonly AuditRange[];
  /** Ids of contents the node acknowledged that the store lacks. */
  readonly contents: readonly Uint8Array[];
  /** Damage to the mark itself (it can no longer vouch for everything). */
  readonly markProblems: readonly string[];
  /** LevelDB's own LOG lines from this open saying it dropped data. */
  readonly recovery: readonly string[];
}

export function isLoss(loss: IntegrityLoss): boolean {
  return (
    loss.audit.length > 0 ||
    loss.contents.length > 0 ||
    loss.markProblems.length > 0 ||
    loss.recovery.length > 0
  );
}

/** The lines of LevelDB's LOG (this open's) that report data it skipped in recovery. */
export async function readRecoveryDrops(dbPath: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(dbPath, 'LOG'), 'utf8');
  } catch {
    return []; // no info log: nothing it could have said
  }
  return text
    .split('\n')
    .filter((line) => RECOVERY_DROP.test(line))
    .slice(0, MAX_RECOVERY_LINES)
    .map((line) => line.replace(dbPath, '<db>').trim());
}

/** What the store holds, as the check needs it. */
export interface StoreView {
  /** The sequence numbers of the audit keys present, ascending. */
  auditSeqs(): AsyncIterable<number>;
  /** Whether a content record with this id is present. */
  hasContent(contentId: Uint8Array): Promise<boolean>;
}

/** What of `mark` (what was acknowledged) the store no longer holds. */
export async function findLoss(
  mark: MarkState,
  reading: Pick<MarkReading, 'contentIds' | 'problems'>,
  store: StoreView,
  recovery: readonly string[],
): Promise<IntegrityLoss> {
  const audit: AuditRange[] = [];
  let expected = 1;
  for await (const seq of store.auditSeqs()) {
    if (seq > mark.auditSeq) break;
    if (seq > expected) audit.push({ from: expected, to: seq - 1 });
    expected = seq + 1;
  }
  if (expected <= mark.auditSeq) audit.push({ from: expected, to: mark.auditSeq });
  const contents: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const id of reading.contentIds) {
    const hex = toHex(id);
    if (seen.has(hex)) continue;
    seen.add(hex);
    if (!(await store.hasContent(id))) contents.push(id);
  }
  return { audit, contents, markProblems: reading.problems, recovery };
}

/** One line for /readyz and the log: counts and sequence numbers, no identifiers. */
export function lossSummary(loss: IntegrityLoss): string {
  const parts: string[] = [];
  for (const r of loss.audit.slice(0, 4)) parts.push(`audit records ${r.from}..${r.to} missing`);
  if (loss.audit.length > 4) parts.push(`and ${loss.audit.length - 4} more audit ranges`);
  if (loss.contents.length > 0) parts.push(`${loss.contents.length} acknowledged contents missing`);
  for (const p of loss.markProblems) parts.push(p);
  if (loss.recovery.length > 0)
    parts.push(`LevelDB recovery dropped data (${loss.recovery.length} LOG lines)`);
  return `${parts.join('; ')}; see ${LOSS_REPORT_FILE}`;
}

/**
 * Writes the report (mode 0600) atomically: temp file, fsync, rename, fsync
 * of the directory. Holds full content ids: it is for the operator and the
 * re-deal, not for logs.
 */
export async function writeLossReport(
  dir: string,
  loss: IntegrityLoss,
  context: { readonly detectedAt: number; readonly mark: MarkState },
): Promise<string> {
  const first = loss.audit[0];
  const last = loss.audit.at(-1);
  const report = {
    v: 1,
    detectedAt: new Date(context.detectedAt).toISOString(),
    /** The whole span of missing audit records, or null. */
    audit: first === undefined || last === undefined ? null : { from: first.from, to: last.to },
    auditRanges: loss.audit,
    /** Contents whose share this node acknowledged and no longer holds: to re-deal. */
    contents: loss.contents.map(toHex),
    markProblems: loss.markProblems,
    recovery: loss.recovery,
    acknowledged: {
      auditHead: { seq: context.mark.auditSeq, hash: toHex(context.mark.auditHash) },
      contentEntries: context.mark.contentEntries,
    },
  };
  const path = join(dir, LOSS_REPORT_FILE);
  const temp = `${path}.tmp`;
  await writeFile(temp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  const handle = await open(temp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return path;
}
