// Walks a node's audit chain and reports the first break (`qkms audit verify`):
// a record that fails authentication or decoding, changed (its hash or
// signature does not match, or it does not follow its predecessor), removed
// (a sequence number missing, or the chain ends before the head the node
// recorded), or reordered (a record stored at another position than its own).
import { toHex, type CryptoSuite } from '../../protocol/index.ts';
import {
  GENESIS_HASH,
  auditHash,
  decodeAuditRecord,
  verifyAuditSignature,
  type AuditRecord,
} from './record.ts';

/** One stored entry, in key order: its sequence number from the key, and its value or why it could not be read. */
export type StoredAuditEntry =
  | { readonly seq: number; readonly value: Uint8Array }
  | { readonly seq: number; readonly corrupt: string };

export type ChainProblem = 'corrupt' | 'changed' | 'removed' | 'reordered';

export interface ChainBreak {
  readonly seq: number;
  readonly problem: ChainProblem;
  readonly detail: string;
}

export interface ChainReport {
  /** Records that verified, from seq 1, before any break. */
  readonly verified: number;
  /** The last verified record. */
  readonly head?: { readonly seq: number; readonly hash: Uint8Array; readonly at: number };
  readonly broken?: ChainBreak;
}

export async function verifyChain(
  suite: CryptoSuite,
  publicKey: Uint8Array,
  entries: AsyncIterable<StoredAuditEntry>,
  /**
   * The head the node recorded with its last write: a shorter chain lost its
   * tail. null: the store holds none (a log with records then lost it too);
   * undefined: not checked.
   */
  recordedHead?: { readonly seq: number; readonly hash: Uint8Array } | null,
): Promise<ChainReport> {
  let expected = 1;
  let prev: Uint8Array = GENESIS_HASH;
  let head: ChainReport['head'];
  const report = (broken: ChainBreak): ChainReport => ({
    verified: expected - 1,
    ...(head === undefined ? {} : { head }),
    broken,
  });
  for await (const entry of entries) {
    if (entry.seq > expected)
      return report({
        seq: expected,
        problem: 'removed',
        detail: `records ${expected}..${entry.seq - 1} are missing`,
      });
    if ('corrupt' in entry)
      return report({ seq: entry.seq, problem: 'corrupt', detail: entry.corrupt });
    let record: AuditRecord;
    try {
      record = decodeAuditRecord(entry.value);
    } catch (e) {
      return report({
        seq: entry.seq,
        problem: 'changed',
        detail: `does not decode (${e instanceof Error ? e.message : 'malformed'})`,
      });
    }
    if (record.body.seq !== entry.seq)
      return report({
        seq: entry.seq,
        problem: 'reordered',
        detail: `holds record ${record.body.seq}`,
      });
    if (!suite.equalBytes(auditHash(suite, record.body), record.hash))
      return report({
        seq: entry.seq,
        problem: 'changed',
        detail: 'its hash does not match its body',
      });
    if (!verifyAuditSignature(suite, record, publicKey))
      return report({
        seq: entry.seq,
        problem: 'changed',
        detail: 'the node signature does not verify',
      });
    if (!suite.equalBytes(record.body.prev, prev))
      return report({
        seq: entry.seq,
        problem: 'changed',
        detail: 'it does not name the previous record as its predecessor',
      });
    prev = record.hash;
    head = { seq: record.body.seq, hash: record.hash, at: record.body.at };
    expected += 1;
  }
  if (recordedHead === null && expected > 1)
    return report({
      seq: expected - 1,
      problem: 'removed',
      detail: 'the head the node records with every write is missing (the tail may be lost)',
    });
  if (recordedHead !== undefined && recordedHead !== null) {
    if (recordedHead.seq > expected - 1)
      return report({
        seq: expected,
        problem: 'removed',
        detail: `the chain ends at ${expected - 1} but the node recorded head ${recordedHead.seq}`,
      });
    if (recordedHead.seq === expected - 1 && !suite.equalBytes(recordedHead.hash, prev))
      return report({
        seq: recordedHead.seq,
        problem: 'changed',
        detail: `head ${recordedHead.seq} has hash ${toHex(prev).slice(0, 16)}…, the node recorded another`,
      });
  }
  return { verified: expected - 1, ...(head === undefined ? {} : { head }) };
}
