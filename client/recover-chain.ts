// Recover across a change of node set (decision 0017, docs/protocol.md §7d).
// After a handover and a cutover the nodes serve the successor set and refuse
// requests naming the old one (WRONG_NODE_SET); for a few seconds of the
// cutover some nodes already serve the successor while the rest still serve
// the old set, and either t of the old set or t' of the new one answer.
//
// One call is at most MAX_EXTRA_ATTEMPTS + 1 recovers (recover.ts), all
// within the call's deadline:
//   1. on the client's current set;
//   2. if it failed with WRONG_NODE_SET answers: the nodes that gave them are
//      asked `node-set`, and a verified successor is adopted (lineage.ts) —
//      then the recover is tried on it; if none is, and the set tried has a
//      predecessor in the lineage, the nodes are still on it mid-cutover: the
//      recover is tried there, naming it;
//   3. and so on from the set of step 2. A set tried before in the call is
//      tried again only after a pause (RETRY_PAUSE_MS, growing): while a
//      node restarts onto the successor it serves neither set, and for that
//      second or so neither may have enough nodes answering.
// A failure without WRONG_NODE_SET answers (wrong shares, unknown content) is
// not a change of set and ends the call. A revocation, the caller's abort or
// the deadline ends the call at once. The error thrown is the last attempt's.
import { ErrorCode, type Manifest, type NodeEntry, type NodeSet } from '../protocol/internal.ts';
import { RecoverError, RevokedError } from './errors.ts';
import type { LatencyTracker } from './latency.ts';
import type { Lineage } from './lineage.ts';
import { recoverCek, type RecoverCall, type RecoverDeps } from './recover.ts';
import type { NodeReport } from './report.ts';
import type { Session } from './session.ts';

/** Attempts beyond the first: a follow, a fallback, and retries across a node's restart. */
export const MAX_EXTRA_ATTEMPTS = 10;
/** Pause before a set is tried again in one call, times the number of retries so far (capped at 4). */
export const RETRY_PAUSE_MS = 250;

export interface ChainRecoverDeps extends Omit<RecoverDeps, 'nodeSet' | 'lineage' | 'latency'> {
  readonly lineage: Lineage;
  /** The latency tracker of a set: indexes are per set, so one tracker each. */
  readonly latencyOf: (set: NodeSet) => LatencyTracker;
  /**
   * Asks `nodes` which node sets they serve and adopts a verified successor
   * of the current set, if any; never throws for what the nodes do.
   */
  readonly follow: (nodes: readonly NodeEntry[], signal: AbortSignal) => Promise<void>;
  /** Learns sets before the lineage's oldest from the current set's nodes (Lineage.learnAncestorsFrom). */
  readonly learnAncestors: (signal: AbortSignal) => Promise<boolean>;
}

/** What is left of the call's deadline, whole ms (AbortSignal.timeout wants an integer), at least 1. */
function remainingMs(timeoutMs: number, started: number, now: number): number {
  return Math.max(1, Math.floor(timeoutMs - (now - started)));
}

/** The nodes of `set` that answered WRONG_NODE_SET in `report`. */
function movedNodes(set: NodeSet, report: readonly NodeReport[]): NodeEntry[] {
  return report.flatMap((r) => {
    if (r.outcome !== 'rejected' || r.code !== ErrorCode.WRONG_NODE_SET) return [];
    const node = set.node(r.index);
    // The report is by index in `set`; the PeerId confirms it is the same entry.
    return node !== undefined && node.peerId === r.peerId ? [node] : [];
  });
}

/**
 * recoverCek over the client's lineage: the current set first, then per the
 * steps above. Resolves with the CEK and the report of the attempt that
 * succeeded; throws what recoverCek throws, for the last attempt.
 */
export async function recoverAcrossSets(
  deps: ChainRecoverDeps,
  manifest: Manifest,
  session: Session,
  call: RecoverCall,
): Promise<{ cek: Uint8Array; report: readonly NodeReport[] }> {
  const { lineage, suite } = deps;
  const started = deps.now();
  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal === undefined ? deadline : AbortSignal.any([call.signal, deadline]);
  // A function, not the property: TypeScript would otherwise keep its narrowing across awaits.
  const over = (): boolean => signal.aborted;
  const tried: NodeSet[] = [];
  const seen = (set: NodeSet): boolean => tried.some((s) => suite.equalBytes(s.id, set.id));
  // A manifest or session of a set older than the one this client pinned: its nodes know it.
  // (Anything but bytes is left to recoverCek, which refuses it with its own error.)
  const known = (id: unknown): boolean =>
    !(id instanceof Uint8Array) || lineage.find(id) !== undefined;
  while (
    (!known((manifest as Partial<Manifest> | undefined)?.body?.nodeSetId) ||
      !known(session.nodeSet.id)) &&
    !over() &&
    (await deps.learnAncestors(signal))
  );
  let target = lineage.current;
  let retries = 0;
  for (;;) {
    tried.push(target);
    const n = target.nodes.length;
    try {
      return await recoverCek(
        {
          ...deps,
          nodeSet: target,
          lineage: lineage.sets,
          latency: deps.latencyOf(target),
          // The client's hedge was bounded by its pinned set; a successor may have fewer spare nodes.
          hedge: Math.min(deps.hedge, n - target.threshold),
        },
        manifest,
        session,
        { timeoutMs: remainingMs(call.timeoutMs, started, deps.now()), signal: call.signal },
      );
    } catch (e) {
      if (!(e instanceof RecoverError) || e instanceof RevokedError || e.reason === 'aborted')
        throw e;
      if (tried.length > MAX_EXTRA_ATTEMPTS || over()) throw e;
      const moved = movedNodes(target, e.report);
      if (moved.length === 0) throw e;
      const next = await nextSet(deps, target, moved, signal);
      if (next === undefined || over()) throw e;
      if (seen(next)) {
        retries += 1;
        await pause(RETRY_PAUSE_MS * Math.min(retries, 4), signal);
        if (over()) throw e;
      }
      target = next;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Where to try next after `target` failed with `moved` nodes answering WRONG_NODE_SET. */
async function nextSet(
  deps: ChainRecoverDeps,
  target: NodeSet,
  moved: readonly NodeEntry[],
  signal: AbortSignal,
): Promise<NodeSet | undefined> {
  const { lineage, suite } = deps;
  const newer = (): NodeSet | undefined => {
    const current = lineage.current;
    return current.epoch > target.epoch && !suite.equalBytes(current.id, target.id)
      ? current
      : undefined;
  };
  // Another call may have followed while this one ran.
  const already = newer();
  if (already !== undefined) return already;
  await deps.follow(moved, signal);
  // Nothing newer: the nodes that refused are still on the set before (mid-cutover).
  return newer() ?? lineage.predecessorOf(target);
}
