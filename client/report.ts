// What happened at each node during one recover or publish: the result a
// caller (a player, the CLI) shows or logs. It names nodes and outcomes only —
// never a share, a CEK or a key.
import type { PublishReceipt, RejectionCode } from '../protocol/index.ts';

/**
 * How one node's part ended:
 * - `ok`: a share that opened and matched its commitment (recover), or a
 *   receipt signed by the node's key for this manifest (publish);
 * - `rejected`: the node answered with a rejection (`code`);
 * - `wrong-share`: the node answered, but not with something that verifies —
 *   a share that does not open or does not match its commitment, a reply that
 *   does not decode, or (publish) a receipt that does not verify;
 * - `unreachable`: no answer — dial refused, connection or stream reset —
 *   also on the one retry over a fresh connection;
 * - `timeout`: no answer within the attempt's or the call's deadline;
 * - `cancelled`: stopped because enough shares were in hand, or because the
 *   caller aborted;
 * - `not-asked`: the recover finished without needing this node.
 */
export type NodeOutcome =
  'ok' | 'rejected' | 'wrong-share' | 'unreachable' | 'timeout' | 'cancelled' | 'not-asked';

export interface NodeReport {
  /** The node's index (1..n) in the node set the attempt asked: the client's current set, or its predecessor mid-cutover. */
  readonly index: number;
  readonly peerId: string;
  readonly outcome: NodeOutcome;
  /** The node's rejection code, for `rejected`. */
  readonly code?: RejectionCode;
  /** Milliseconds from the first attempt at this node to its outcome. */
  readonly ms?: number;
  /** True if a second attempt was made (a fresh request, after a transport fault or a retryable rejection). */
  readonly retried?: boolean;
  /** The signed receipt, for a publish that ended `ok`. */
  readonly receipt?: PublishReceipt;
}

/** A report entry without the optional fields that are undefined (exactOptionalPropertyTypes). */
export function nodeReport(fields: {
  index: number;
  peerId: string;
  outcome: NodeOutcome;
  code?: RejectionCode | undefined;
  ms?: number | undefined;
  retried?: boolean | undefined;
  receipt?: PublishReceipt | undefined;
}): NodeReport {
  const out: {
    -readonly [K in keyof NodeReport]: NodeReport[K];
  } = { index: fields.index, peerId: fields.peerId, outcome: fields.outcome };
  if (fields.code !== undefined) out.code = fields.code;
  if (fields.ms !== undefined) out.ms = Math.round(fields.ms);
  if (fields.retried === true) out.retried = true;
  if (fields.receipt !== undefined) out.receipt = fields.receipt;
  return Object.freeze(out);
}
