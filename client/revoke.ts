// Submitting a revocation and reading what a node holds (DESIGN.md,
// Revocation). `revoke` sends the record to every node at once and reports
// per node; it is *effective* once n - t + 1 nodes acknowledged it durably:
// from then on no t nodes remain that would serve the revoked target.
import {
  ErrorCode,
  METHODS,
  QkmsError,
  decodeMessage,
  encodeMessage,
  type CryptoSuite,
  type NodeEntry,
  type NodeSet,
  type RejectionCode,
} from '../protocol/internal.ts';
import { decodeRevocation, verifyRevocation, type RevocationRecord } from '../revocation/index.ts';
import { MAX_REPLY_BYTES, type NodeTransport } from './transport.ts';

export type RevokeNodeStatus =
  /** The node stored the record durably just now. */
  | 'stored'
  /** The node already held it (durably). */
  | 'unchanged'
  /** The node refused it (`code`): the record is bad, or the node is busy or broken. */
  | 'rejected'
  /** No answer within the deadline (down, partitioned, slow). */
  | 'unreachable';

export interface RevokeNodeReport {
  readonly index: number;
  readonly status: RevokeNodeStatus;
  readonly code?: RejectionCode;
  /** Milliseconds from sending to the answer. */
  readonly ms?: number;
}

export interface RevokeResult {
  /** The record's id. */
  readonly id: Uint8Array;
  /** Nodes that hold the record durably (stored or unchanged). */
  readonly acknowledged: number;
  /** n - t + 1: acknowledgements that make a revocation effective. */
  readonly needed: number;
  readonly effective: boolean;
  /** Milliseconds from sending until the needed-th acknowledgement (when effective). */
  readonly effectiveMs?: number;
  /** One entry per node, by index. */
  readonly nodes: readonly RevokeNodeReport[];
}

export interface RevokeDeps {
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  /**
   * Every set the client verified, oldest first (decision 0017): a record an
   * earlier set's admins issued stays in force, and is verified against them.
   */
  readonly lineage?: readonly NodeSet[];
  readonly transport: NodeTransport;
  readonly now: () => number;
}

/** Acknowledgements that make a revocation effective: no t nodes remain without it. */
export function effectiveBound(nodeSet: NodeSet): number {
  return nodeSet.nodes.length - nodeSet.threshold + 1;
}

export async function revokeAll(
  deps: RevokeDeps,
  record: RevocationRecord,
  options: { signal: AbortSignal },
): Promise<RevokeResult> {
  const { nodeSet, transport, now } = deps;
  const needed = effectiveBound(nodeSet);
  const frame = encodeMessage({ type: 'revoke', record: record.bytes });
  const started = now();
  let acknowledged = 0;
  let effectiveMs: number | undefined;
  const ask = async (node: NodeEntry): Promise<RevokeNodeReport> => {
    const sent = now();
    try {
      const reply = await transport.request(node, 'revoke', frame, { signal: options.signal });
      const ms = now() - sent;
      const answer = decodeMessage(reply, MAX_REPLY_BYTES.revoke, METHODS.revoke.exchanges.revoke);
      if (answer.type === 'reject')
        return { index: node.index, status: 'rejected', code: answer.code, ms };
      if (!deps.suite.equalBytes(answer.id, record.id))
        return { index: node.index, status: 'rejected', code: 'MALFORMED', ms };
      acknowledged += 1;
      if (acknowledged === needed) effectiveMs = now() - started;
      return { index: node.index, status: answer.status, ms };
    } catch {
      return { index: node.index, status: 'unreachable' };
    }
  };
  const nodes = await Promise.all(nodeSet.nodes.map(ask));
  return {
    id: record.id,
    acknowledged,
    needed,
    effective: acknowledged >= needed,
    ...(effectiveMs === undefined ? {} : { effectiveMs }),
    nodes,
  };
}

/**
 * Every record node `node` holds, page by page, each verified against the
 * set of the client's lineage that issued it: a node cannot make up a revocation. Throws QkmsError
 * BAD_REVOCATION if it sends one that does not verify, or the rejection
 * code it answered with.
 */
export async function listRevocations(
  deps: RevokeDeps,
  node: NodeEntry,
  options: { signal: AbortSignal },
): Promise<RevocationRecord[]> {
  const out: RevocationRecord[] = [];
  let after: Uint8Array = new Uint8Array(0);
  for (;;) {
    const reply = await deps.transport.request(
      node,
      'revoke',
      encodeMessage({ type: 'revocations', after }),
      { signal: options.signal },
    );
    const answer = decodeMessage(
      reply,
      MAX_REPLY_BYTES.revoke,
      METHODS.revoke.exchanges.revocations,
    );
    if (answer.type === 'reject') throw rejected(answer.code);
    for (const bytes of answer.records) {
      const record = decodeRevocation(deps.suite, bytes);
      const issuer =
        (deps.lineage ?? []).find((set) => deps.suite.equalBytes(set.id, record.body.nodeSetId)) ??
        deps.nodeSet;
      verifyRevocation(deps.suite, issuer, record);
      // Pages come in id order after `after`: a node repeating or reordering records is refused,
      // so a lying node cannot keep the client paging until its deadline.
      if (compareBytes(record.id, after) <= 0)
        throw new QkmsError(ErrorCode.MALFORMED, `node ${node.index} listed records out of order`);
      out.push(record);
      after = record.id;
    }
    if (!answer.more) return out;
    if (answer.records.length === 0)
      throw new QkmsError(ErrorCode.MALFORMED, `node ${node.index} sent an empty page with more`);
  }
}

/** Lexicographic order of byte strings (an empty one sorts first). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function rejected(code: RejectionCode): QkmsError {
  return new QkmsError(code, `node refused to list revocations: ${code}`);
}
