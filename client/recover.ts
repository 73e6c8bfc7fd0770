// Long file: the recover loop (hedging, overdue replacement, one retry per node, combine) is one state machine over shared per-node state.
// Recover, as the client sees it (DESIGN.md): from a manifest and a session,
// the CEK — reconstructed only from shares that each matched their
// commitment, and accepted only if it matches the CEK commitment.
//
//   1. The manifest is verified against the node set it names, which must be
//      one the client verified (its lineage: the pinned set and the
//      successors it followed), before anything is sent (verifyManifest at
//      the manifest's issuedAt). The nodes asked are those of the set in
//      `deps.nodeSet` (the client's current set, or, mid-cutover, its
//      predecessor), and each request names that set.
//   2. t + hedge nodes are asked at once, fastest-known first (latency.ts);
//      each gets its own fresh request: a new nonce, addressed to that node.
//      An attempt that outlives a multiple of its node's latency estimate is
//      overdue (overdue.ts): that node gives up its place and the next node
//      not yet asked is asked at once. The overdue node is not cancelled — its
//      answer still counts — and its retry, if it comes to one, goes out after
//      that replacement. So silent nodes (stopped, partitioned) cost a
//      fraction of the deadline, not an attempt and a retry each.
//   3. Each answer is opened with the session's X-Wing key under the seal
//      context of the request it answers. Shares are checked against the
//      manifest's Pedersen commitments — or, for content redistributed to the
//      set asked, those of its sharing record (share-basis.ts) — at x = the
//      node's index in the set asked (never a value the node sent) when a combination fails
//      (step 5): a share that fails is named `wrong-share`; any node that
//      ends without a good share is replaced by one not yet asked.
//   4. A transport fault (refused, reset, timeout, stale pooled connection)
//      is retried once on a fresh connection with a fresh request; a
//      rejection is final, except `retry-fresh` codes (one fresh request) and
//      `renew-session` codes (the session renews once per call, then one
//      fresh request). One retry per node, whatever the cause.
//   5. With t shares in hand they are combined into the key scalar and the
//      CEK unwrapped and checked against its commitment (decision 0016); on a
//      match the rest are cancelled. The CEK commitment is the gate: a wrong
//      share cannot pass it, so the healthy path skips the per-share check
//      (about 0.4 ms of curve arithmetic each). On a mismatch every share in
//      hand is checked, the liars named and dropped, and more nodes asked; if
//      every share verifies (a publisher that wrapped another CEK than it
//      committed to), the recover fails closed.
//   6. Fewer than t good shares once every node has been tried, or the
//      deadline or the caller's signal first: RecoverError with the per-node
//      report, in which every node asked has its outcome (`timeout` for one
//      still silent at the deadline) and only a node never asked is
//      `not-asked`. Every share is wiped before returning, either way.
import { ShamirError } from '../shamir/index.ts';
import {
  ErrorCode,
  QkmsError,
  SHARE_BYTES,
  combineKey,
  openCek,
  decodeMessage,
  encodeMessage,
  recoverSealContext,
  rejectionAction,
  wipe,
  type CryptoSuite,
  type Manifest,
  type NodeEntry,
  type NodeSet,
  type RejectionCode,
} from '../protocol/internal.ts';
import { raceSignal, whenAborted } from './abort.ts';
import { ShareBasis } from './share-basis.ts';
import { verifyManifestOnce, type VerifiedManifests } from './manifest-cache.ts';
import { RecoverError, RevokedError, type RecoverFailure } from './errors.ts';
import type { LatencyTracker } from './latency.ts';
import { hedgeAfterMs, overdueAfterMs } from './overdue.ts';
import { nodeReport, type NodeOutcome, type NodeReport } from './report.ts';
import type { Grant, Session } from './session.ts';
import { MAX_REPLY_BYTES, isBadAnswer, type NodeTransport } from './transport.ts';

export interface RecoverDeps {
  readonly suite: CryptoSuite;
  /** The node set whose nodes are asked; each request names it. */
  readonly nodeSet: NodeSet;
  /**
   * The node sets the client verified, oldest first (the pinned set, then its
   * successors): the manifest must name one, the session be for one.
   * `[nodeSet]` when absent.
   */
  readonly lineage?: readonly NodeSet[];
  readonly transport: NodeTransport;
  readonly latency: LatencyTracker;
  /** Wall clock, ms since the epoch: each request's issuedAt. */
  readonly clock: () => number;
  /** Monotonic clock, ms: durations and fresh-connection instants (performance.now). */
  readonly now: () => number;
  /** Nodes asked at once beyond t. */
  readonly hedge: number;
  /** Deadline of one attempt at one node. */
  readonly attemptTimeoutMs: number;
  /** The manifests this client verified lately (manifest-cache.ts); each QuorumClient owns one. */
  readonly verifiedManifests: VerifiedManifests;
}

export interface RecoverCall {
  /** Deadline of the whole call. */
  readonly timeoutMs: number;
  /** The caller's signal, if any. */
  readonly signal?: AbortSignal | undefined;
}

/** A verified share: x is the node's index in the set asked, y its 64 bytes. */
interface Share {
  readonly x: number;
  readonly y: Uint8Array;
}

/** How one node's part ended, as the loop sees it; a share only with `ok`. */
type NodeResult =
  | { readonly outcome: 'ok'; readonly share: Uint8Array; readonly retried: boolean }
  | { readonly outcome: 'rejected'; readonly code: RejectionCode; readonly retried: boolean }
  | {
      readonly outcome: 'wrong-share' | 'unreachable' | 'timeout' | 'cancelled';
      readonly retried: boolean;
    };

interface NodeState {
  readonly started: number;
  readonly controller: AbortController;
  /** An attempt outlived overdueAfterMs: the node no longer holds a place, another was asked. */
  overdue: boolean;
  /** Marks the current attempt overdue when it fires. */
  overdueTimer?: ReturnType<typeof setTimeout> | undefined;
  outcome?: NodeOutcome;
  code?: RejectionCode;
  ms?: number;
  retried?: boolean;
}

/** What every node's task shares within one call. */
interface CallContext {
  readonly deps: RecoverDeps;
  readonly manifest: Manifest;
  readonly session: Session;
  /** What the shares lie on: the manifest's sharing or the set's sharing record. */
  readonly basis: ShareBasis;
  /** The delegation in use; replaced once if a node asks for a renewal. */
  grant: Grant;
  renewal: Promise<Grant> | undefined;
}

const ABORTED = Symbol('aborted');
const WOKEN = Symbol('woken');

/** What a node's task tells the loop while it runs. */
interface AttemptHooks {
  /** An attempt starts (the first, or the retry). */
  readonly onAttempt: () => void;
  /** A second attempt is about to start; `silent`: the first got no answer within its deadline. */
  readonly onRetry: (silent: boolean) => void;
}

function inLineage(
  lineage: readonly NodeSet[],
  id: Uint8Array,
  suite: CryptoSuite,
): NodeSet | undefined {
  return lineage.find((set) => suite.equalBytes(set.id, id));
}

/** Renews the session at most once per call; nodes refused for the same reason share it. */
function renewOnce(ctx: CallContext, signal: AbortSignal): Promise<Grant> {
  ctx.renewal ??= ctx.session.renew(ctx.grant).then((grant) => {
    ctx.grant = grant;
    return grant;
  });
  return raceSignal(ctx.renewal, signal);
}

/** One node's task: ask, retry at most once, check. Never rejects. */
async function askNode(
  ctx: CallContext,
  node: NodeEntry,
  cancel: AbortSignal,
  hooks: AttemptHooks,
): Promise<NodeResult> {
  const { deps, manifest, session } = ctx;
  // A function, not the property: TypeScript would otherwise keep its narrowing across awaits.
  const cancelled = (): boolean => cancel.aborted;
  let retried = false;
  let freshAfter: number | undefined;
  for (;;) {
    if (cancelled()) return { outcome: 'cancelled', retried };
    const grant = ctx.grant;
    const attemptStarted = deps.now();
    const request = session.signRecoverRequest(grant, {
      node: node.index,
      contentId: manifest.body.contentId,
      issuedAt: deps.clock(),
      nodeSetId: deps.nodeSet.id,
    });
    const frame = encodeMessage({ type: 'recover', request, delegation: grant.delegation });
    const timeout = AbortSignal.timeout(deps.attemptTimeoutMs);
    hooks.onAttempt();
    let reply: Uint8Array;
    try {
      reply = await deps.transport.request(node, 'recover', frame, {
        signal: AbortSignal.any([cancel, timeout]),
        ...(freshAfter === undefined ? {} : { freshAfter }),
      });
    } catch (e) {
      if (cancelled()) return { outcome: 'cancelled', retried };
      if (isBadAnswer(e)) return { outcome: 'wrong-share', retried };
      if (!retried) {
        retried = true;
        // A silent attempt is overdue by now: its replacement is asked before this retry.
        hooks.onRetry(timeout.aborted);
        freshAfter = attemptStarted;
        continue;
      }
      return { outcome: timeout.aborted ? 'timeout' : 'unreachable', retried };
    }

    let message;
    try {
      message = decodeMessage(reply, MAX_REPLY_BYTES.recover, ['share', 'reject']);
    } catch {
      return { outcome: 'wrong-share', retried };
    }
    if (message.type === 'reject') {
      const action = rejectionAction(message.code);
      if (!retried && action === 'retry-fresh') {
        retried = true;
        hooks.onRetry(false);
        continue;
      }
      if (!retried && action === 'renew-session') {
        retried = true;
        hooks.onRetry(false);
        try {
          await renewOnce(ctx, cancel);
        } catch {
          if (cancelled()) return { outcome: 'cancelled', retried };
          return { outcome: 'rejected', code: message.code, retried };
        }
        continue;
      }
      return { outcome: 'rejected', code: message.code, retried };
    }
    // Before opening: a share whose sharing the client cannot trust is worth nothing.
    if (!ctx.basis.accept(message.sharing)) return { outcome: 'wrong-share', retried };

    let share: Uint8Array;
    try {
      share = await session.openShare(recoverSealContext(request.body), message.sealed);
    } catch {
      return { outcome: 'wrong-share', retried };
    }
    // Checked against the commitments only if the combination fails (step 5).
    if (cancelled() || share.length !== SHARE_BYTES) {
      wipe(share);
      return { outcome: cancelled() ? 'cancelled' : 'wrong-share', retried };
    }
    return { outcome: 'ok', share, retried };
  }
}

/** The code a failed recover carries: the rejection most nodes gave, else NOT_READY. */
function failureCode(states: readonly NodeState[]): ErrorCode {
  const counts = new Map<RejectionCode, number>();
  for (const s of states)
    if (s.code !== undefined) counts.set(s.code, (counts.get(s.code) ?? 0) + 1);
  let best: RejectionCode | undefined;
  for (const [code, count] of counts)
    if (best === undefined || count > (counts.get(best) ?? 0)) best = code;
  return best ?? ErrorCode.NOT_READY;
}

function buildReport(nodeSet: NodeSet, states: ReadonlyMap<number, NodeState>): NodeReport[] {
  return nodeSet.nodes.map((node) => {
    const s = states.get(node.index);
    if (s === undefined)
      return nodeReport({ index: node.index, peerId: node.peerId, outcome: 'not-asked' });
    return nodeReport({
      index: node.index,
      peerId: node.peerId,
      // Every node asked ends with an outcome (stop() or the loop); never `not-asked`.
      outcome: s.outcome ?? 'cancelled',
      code: s.code,
      ms: s.ms,
      retried: s.retried,
    });
  });
}

/** Back-off answers and faults count as slow, so the node is asked later next time. */
function penalised(result: NodeResult): boolean {
  if (result.outcome === 'rejected') return rejectionAction(result.code) === 'back-off';
  return result.outcome !== 'ok' && result.outcome !== 'cancelled';
}

/**
 * Recovers the CEK of `manifest` through the quorum. Resolves with a fresh
 * 32-byte CEK the caller owns (and should wipe) and the per-node report.
 * Throws QkmsError before sending anything when the manifest does not verify
 * against the node set (INVALID_MANIFEST or a delegation code), the session
 * is for another node set (INVALID_ARGUMENT) or lacks `recover` on the
 * content (CAPABILITY_DENIED); RecoverError when no verified CEK results.
 */
export async function recoverCek(
  deps: RecoverDeps,
  manifest: Manifest,
  session: Session,
  call: RecoverCall,
): Promise<{ cek: Uint8Array; report: readonly NodeReport[] }> {
  const { suite, nodeSet } = deps;
  const lineage = deps.lineage ?? [nodeSet];
  if (session.destroyed)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'recover: session destroyed');
  if (inLineage(lineage, nodeSet.id, suite) === undefined)
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'recover: the node set asked is not one the client verified',
    );
  if (inLineage(lineage, session.nodeSet.id, suite) === undefined)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'recover: the session is for another node set');
  if (typeof manifest !== 'object' || typeof manifest.body !== 'object')
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'recover: manifest: expected a Manifest');
  // The set the manifest names; an unknown one is checked against the set asked, which refuses
  // it with verifyManifest's own error (the manifest names another node set).
  const named = inLineage(lineage, manifest.body.nodeSetId, suite) ?? nodeSet;
  verifyManifestOnce(deps.verifiedManifests, suite, manifest, named);
  const contentId = manifest.body.contentId;
  if (!session.covers('recover', contentId))
    throw new QkmsError(
      ErrorCode.CAPABILITY_DENIED,
      'recover: the session may not recover this content',
    );

  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal === undefined ? deadline : AbortSignal.any([call.signal, deadline]);
  const t = nodeSet.threshold;
  const states = new Map<number, NodeState>();
  const inFlight = new Map<number, Promise<{ index: number; result: NodeResult }>>();
  const good: Share[] = [];
  const abort = whenAborted(signal, ABORTED);
  /** Wakes the loop when nodes were asked outside it (an overdue attempt), so it awaits them too. */
  let woken = Promise.withResolvers<typeof WOKEN>();
  let settled = false;
  /** Asks the hedge nodes when it fires. */
  let hedgeTimer: ReturnType<typeof setTimeout> | undefined;

  /** Ends an in-flight node's task; a share it may still deliver is wiped on arrival. */
  const stop = (index: number, outcome: NodeOutcome): void => {
    const s = states.get(index);
    const task = inFlight.get(index);
    inFlight.delete(index);
    if (s !== undefined) clearTimeout(s.overdueTimer);
    if (task !== undefined) {
      void task.then(({ result }) => {
        if (result.outcome === 'ok') wipe(result.share);
      });
    }
    if (s === undefined) return;
    s.outcome = outcome;
    s.ms = deps.now() - s.started;
    s.controller.abort(new Error('recover: node no longer needed'));
    deps.latency.observeCancelled(index, s.ms);
  };

  const fail = (
    reason: RecoverFailure,
    code: ErrorCode,
    message: string,
    cause?: unknown,
  ): never => {
    const outcome: NodeOutcome = deadline.aborted ? 'timeout' : 'cancelled';
    for (const index of [...inFlight.keys()]) stop(index, outcome);
    const report = buildReport(nodeSet, states);
    const options = cause === undefined ? undefined : { cause };
    if (reason === 'revoked') throw new RevokedError(message, report, options);
    throw new RecoverError(code, reason, message, report, options);
  };

  try {
    let grant: Grant;
    try {
      grant = await raceSignal(session.grant(), signal);
    } catch (e) {
      if (signal.aborted)
        return fail('aborted', ErrorCode.TIMEOUT, 'recover: aborted', signal.reason);
      throw e;
    }
    const ctx: CallContext = {
      deps,
      manifest,
      session,
      basis: new ShareBasis(suite, manifest, nodeSet),
      grant,
      renewal: undefined,
    };
    const queue = deps.latency.order(
      nodeSet.nodes.map((n) => n.index),
      suite.randomBytes,
    );
    const byIndex = new Map(nodeSet.nodes.map((n) => [n.index, n]));
    // t places first; the hedge joins once the t asked are late (delayed hedging, overdue.ts).
    let wanted = t;

    /** In-flight nodes that hold one of the `wanted` places: those not overdue. */
    const holding = (): number => {
      let count = 0;
      for (const index of inFlight.keys()) if (states.get(index)?.overdue === false) count++;
      return count;
    };

    /** Asks nodes not yet asked until `wanted` places are held or filled. Never a node twice. */
    const launch = (): void => {
      while (!settled && !signal.aborted && good.length + holding() < wanted && queue.length > 0) {
        const index = queue.shift();
        const node = index === undefined ? undefined : byIndex.get(index);
        if (node === undefined) continue;
        const controller = new AbortController();
        const state: NodeState = { started: deps.now(), controller, overdue: false };
        states.set(node.index, state);
        const hooks: AttemptHooks = {
          onAttempt: () => {
            armOverdue(node.index, state);
          },
          onRetry: (silent) => {
            state.retried = true;
            if (silent) markOverdue(node.index);
          },
        };
        const task = askNode(ctx, node, AbortSignal.any([signal, controller.signal]), hooks)
          .catch((): NodeResult => ({ outcome: 'unreachable', retried: false }))
          .then((result) => ({ index: node.index, result }));
        inFlight.set(node.index, task);
      }
    };

    /** The node's attempt is overdue: it gives up its place and replacements are asked now. */
    const markOverdue = (index: number): void => {
      const state = states.get(index);
      if (state === undefined || state.overdue || !inFlight.has(index)) return;
      state.overdue = true;
      clearTimeout(state.overdueTimer);
      launch();
      woken.resolve(WOKEN);
    };

    /** Each attempt of a node that still holds its place may become overdue. */
    const armOverdue = (index: number, state: NodeState): void => {
      clearTimeout(state.overdueTimer);
      if (state.overdue) return;
      const estimate = deps.latency.estimate(index);
      state.overdueTimer = setTimeout(
        () => {
          markOverdue(index);
        },
        overdueAfterMs(estimate, deps.attemptTimeoutMs),
      );
    };

    launch();
    if (deps.hedge > 0) {
      const after = hedgeAfterMs([...inFlight.keys()].map((i) => deps.latency.estimate(i)));
      const hedgeNow = (): void => {
        wanted = Math.max(wanted, t + deps.hedge);
        launch();
        woken.resolve(WOKEN);
      };
      if (after === 0) hedgeNow();
      else hedgeTimer = setTimeout(hedgeNow, after);
    }
    while (inFlight.size > 0) {
      const next = await Promise.race([...inFlight.values(), abort.promise, woken.promise]);
      if (next === ABORTED) break;
      if (next === WOKEN) {
        // More nodes in flight: race them too.
        woken = Promise.withResolvers<typeof WOKEN>();
        continue;
      }
      const { index, result } = next;
      inFlight.delete(index);
      const state = states.get(index);
      if (state !== undefined) clearTimeout(state.overdueTimer);
      if (state === undefined || state.outcome !== undefined) {
        // Already stopped; a share that raced the stop is wiped here.
        if (result.outcome === 'ok') wipe(result.share);
        continue;
      }
      // A task cut short by the call's own deadline timed out; by the caller, it was cancelled.
      state.outcome =
        result.outcome === 'cancelled' && deadline.aborted ? 'timeout' : result.outcome;
      state.ms = deps.now() - state.started;
      state.retried = result.retried;
      if (result.outcome === 'rejected') state.code = result.code;
      deps.latency.observe(index, penalised(result) ? deps.attemptTimeoutMs : state.ms);

      if (result.outcome === 'ok') {
        good.push({ x: index, y: result.share });
        if (good.length >= t) {
          const cek = tryCombine(suite, manifest, good, t);
          if (cek !== undefined) {
            for (const other of [...inFlight.keys()]) stop(other, 'cancelled');
            return { cek, report: buildReport(nodeSet, states) };
          }
          // Some share is off the committed polynomial: check each, name and drop the liars.
          // x is the node's index in the set asked, whatever the node may think it is.
          const liars = good.filter((g) => !ctx.basis.check(g.x, g.y));
          for (const liar of liars) {
            const liarState = states.get(liar.x);
            if (liarState !== undefined) liarState.outcome = 'wrong-share';
            wipe(liar.y);
            good.splice(good.indexOf(liar), 1);
          }
          // Every share verified, yet they do not unwrap the committed CEK: ask for one more, so
          // the loop ends (fail closed) once no node is left.
          if (liars.length === 0) wanted = good.length + 1;
        }
      }
      launch();
    }

    if (signal.aborted)
      return fail(
        'aborted',
        ErrorCode.TIMEOUT,
        'recover: aborted before t shares verified',
        signal.reason,
      );
    const all = [...states.values()];
    if (all.some((s) => s.code === ErrorCode.REVOKED))
      return fail('revoked', ErrorCode.REVOKED, 'recover: revoked, and fewer than t nodes served');
    if (good.length >= t)
      return fail(
        'not-enough-shares',
        ErrorCode.INVALID_MANIFEST,
        'recover: the verified shares do not reconstruct the committed CEK',
      );
    return fail(
      'not-enough-shares',
      failureCode(all),
      `recover: ${good.length} verified shares, ${t} needed`,
    );
  } finally {
    settled = true;
    clearTimeout(hedgeTimer);
    abort.dispose();
    for (const s of states.values()) clearTimeout(s.overdueTimer);
    for (const share of good) wipe(share.y);
  }
}

/**
 * The CEK from t verified shares, if the key scalar they give unwraps to the committed CEK.
 * Every share was checked against the Pedersen commitments, so any t give the same scalar;
 * undefined means the publisher committed to a CEK it did not wrap.
 */
function tryCombine(
  suite: CryptoSuite,
  manifest: Manifest,
  shares: readonly Share[],
  threshold: number,
): Uint8Array | undefined {
  let cek: Uint8Array | undefined;
  try {
    const keyScalar = combineKey(
      shares.map((s) => ({ x: s.x, bytes: s.y })),
      threshold,
      (k) => (cek = openCek(suite, manifest.body, k)) !== undefined,
    );
    wipe(keyScalar);
    return cek;
  } catch (e) {
    if (e instanceof ShamirError && e.code === 'NO_VERIFIED_SUBSET') return undefined;
    if (cek !== undefined) wipe(cek);
    throw e;
  }
}
