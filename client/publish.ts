// Publish, as the publisher's client does it (DESIGN.md, "Publish"; decision
// 0016): a CEK (32 random bytes unless given) wrapped under a fresh key scalar
// shared t-of-n with Pedersen commitments, a manifest signed by the session
// under its `publish` delegation, share i sealed to node i's X-Wing key
// (publishSealContext binds it to node i and to the commitments), every
// node asked at once, and every receipt checked against the node's key from
// the pinned node set. A node that refuses or is down is reported, not
// fatal: publishing is idempotent, so the caller re-runs it to fill gaps.
//
// A publish frame carries no nonce, and the same manifest and share again
// change nothing at a node ('unchanged'), so the retry after a transport
// fault sends the same bytes (over a fresh connection).
import {
  CEK_BYTES,
  ErrorCode,
  ID_BYTES,
  METHODS,
  QkmsError,
  dealKey,
  decodeMessage,
  encodeMessage,
  manifestHash,
  publishSealContext,
  rejectionAction,
  seal,
  verifyDelegationSignature,
  verifyManifest,
  verifyReceipt,
  wipe,
  type AccessPolicy,
  type CryptoSuite,
  type Delegation,
  type Manifest,
  type NodeEntry,
  type NodeSet,
  type ParsedDelegation,
  type PublishReceipt,
  normalizePolicy,
} from '../protocol/internal.ts';
import { raceSignal } from './abort.ts';
import type { Grant, Session } from './session.ts';
import { nodeReport, type NodeReport } from './report.ts';
import { MAX_REPLY_BYTES, isBadAnswer, type NodeTransport } from './transport.ts';

export interface PublishDeps {
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  readonly transport: NodeTransport;
  /** Wall clock, ms since the epoch: the manifest's issuedAt. */
  readonly clock: () => number;
  /** Monotonic clock, ms (performance.now). */
  readonly now: () => number;
  /** Deadline of one attempt at one node. */
  readonly attemptTimeoutMs: number;
}

export interface PublishOptions {
  /** The CEK to publish (32 bytes); 32 fresh random bytes when omitted. */
  readonly cek?: Uint8Array;
  /** The content id (32 bytes); random when omitted. */
  readonly contentId?: Uint8Array;
  readonly policy: AccessPolicy;
  readonly signal?: AbortSignal;
  /**
   * Called once, with the signed and checked manifest and the CEK, before any
   * node is asked; publish waits for it. If it throws or rejects, nothing is
   * sent and publish rejects with that error. A publisher stores the manifest
   * and the CEK here, durably, so that no node ever holds a share of a key
   * whose manifest was lost (the CLI writes both files in it).
   */
  readonly beforeSend?: (prepared: {
    readonly manifest: Manifest;
    readonly cek: Uint8Array;
  }) => void | Promise<void>;
}

export interface PublishResult {
  readonly manifest: Manifest;
  /** The CEK: the caller's to use and then wipe (the same array as `options.cek` when one was given). */
  readonly cek: Uint8Array;
  /** One entry per node, by index: `ok` with its verified receipt, or what went wrong. */
  readonly receipts: readonly NodeReport[];
}

function sameBytes(suite: CryptoSuite, a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && suite.equalBytes(a, b);
}

/** A receipt that this node signed, for this node set, node, content and manifest. */
function receiptMatches(
  suite: CryptoSuite,
  nodeSet: NodeSet,
  node: NodeEntry,
  manifest: Manifest,
  hash: Uint8Array,
  receipt: PublishReceipt,
): boolean {
  const b = receipt.body;
  return (
    sameBytes(suite, b.nodeSetId, nodeSet.id) &&
    b.node === node.index &&
    sameBytes(suite, b.contentId, manifest.body.contentId) &&
    sameBytes(suite, b.manifestHash, hash) &&
    verifyReceipt(suite, receipt, node.nodePublicKey)
  );
}

async function publishToNode(
  deps: PublishDeps,
  node: NodeEntry,
  frame: Uint8Array,
  manifest: Manifest,
  hash: Uint8Array,
  signal: AbortSignal,
  deadline: AbortSignal,
): Promise<NodeReport> {
  const started = deps.now();
  let retried = false;
  let freshAfter: number | undefined;
  const report = (
    outcome: NodeReport['outcome'],
    extra: Pick<NodeReport, 'code' | 'receipt'> = {},
  ): NodeReport =>
    nodeReport({
      index: node.index,
      peerId: node.peerId,
      outcome,
      ms: deps.now() - started,
      retried,
      code: extra.code,
      receipt: extra.receipt,
    });
  for (;;) {
    const attemptStarted = deps.now();
    const timeout = AbortSignal.timeout(deps.attemptTimeoutMs);
    let reply: Uint8Array;
    try {
      reply = await deps.transport.request(node, 'publish', frame, {
        signal: AbortSignal.any([signal, timeout]),
        ...(freshAfter === undefined ? {} : { freshAfter }),
      });
    } catch (e) {
      if (signal.aborted) return report(deadline.aborted ? 'timeout' : 'cancelled');
      if (isBadAnswer(e)) return report('wrong-share');
      if (!retried) {
        retried = true;
        freshAfter = attemptStarted;
        continue;
      }
      return report(timeout.aborted ? 'timeout' : 'unreachable');
    }
    let message;
    try {
      message = decodeMessage(reply, MAX_REPLY_BYTES.publish, METHODS.publish.exchanges.publish);
    } catch {
      return report('wrong-share');
    }
    if (message.type === 'reject') {
      if (!retried && rejectionAction(message.code) === 'retry-fresh') {
        retried = true;
        continue;
      }
      return report('rejected', { code: message.code });
    }
    if (!receiptMatches(deps.suite, deps.nodeSet, node, manifest, hash, message.receipt))
      return report('wrong-share');
    return report('ok', { receipt: message.receipt });
  }
}

/**
 * The wallet's signature on a grant's delegation, checked once per grant and suite: a
 * publisher's session publishes many contents under one delegation, and its secp256k1
 * recovery was an eighth of a publish's client CPU (issue 18). Keyed by the grant object
 * (the session's own, frozen) and checked to carry the very delegation verified; any
 * other delegation is verified in full.
 */
const walletVerdicts = new WeakMap<Grant, { suite: CryptoSuite; parsed: ParsedDelegation }>();

function walletCheckOnce(
  suite: CryptoSuite,
  grant: Grant,
  delegation: Delegation,
): ParsedDelegation {
  const known = walletVerdicts.get(grant);
  if (known?.suite === suite && delegation === grant.delegation) return known.parsed;
  const parsed = verifyDelegationSignature(suite, delegation);
  if (delegation === grant.delegation) walletVerdicts.set(grant, { suite, parsed });
  return parsed;
}

/**
 * Publishes a CEK for the session's wallet. Throws before sending anything
 * for bad options (INVALID_ARGUMENT / INVALID_LENGTH), a session for another
 * node set, or one without `publish` on the content (CAPABILITY_DENIED); the
 * caller's abort rejects with its reason. Node outcomes never throw: read
 * `receipts` (content is recoverable once at least t nodes report `ok`).
 */
export async function publishContent(
  deps: PublishDeps,
  session: Session,
  options: PublishOptions,
  timeoutMs: number,
): Promise<PublishResult> {
  const { suite, nodeSet } = deps;
  if (session.destroyed)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'publish: session destroyed');
  if (!suite.equalBytes(session.nodeSet.id, nodeSet.id))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'publish: the session is for another node set');
  for (const [name, value, length] of [
    ['cek', options.cek, CEK_BYTES],
    ['contentId', options.contentId, ID_BYTES],
  ] as const) {
    if (value !== undefined && (!(value instanceof Uint8Array) || value.length !== length))
      throw new QkmsError(ErrorCode.INVALID_LENGTH, `publish: ${name}: expected ${length} bytes`);
  }
  // Every rule a node's decoder applies (kinds, fields, caps), checked here first.
  const policy = normalizePolicy(options.policy);
  const contentId = options.contentId?.slice() ?? suite.randomBytes(ID_BYTES);
  if (!session.covers('publish', contentId))
    throw new QkmsError(
      ErrorCode.CAPABILITY_DENIED,
      'publish: the session may not publish this content',
    );

  const deadline = AbortSignal.timeout(timeoutMs);
  const signal =
    options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  const grant = await raceSignal(session.grant(), signal);

  const cek = options.cek ?? suite.randomBytes(CEK_BYTES);
  let ys: Uint8Array[] = [];
  let keyScalar: Uint8Array | undefined;
  try {
    const dealt = dealKey(nodeSet.threshold, nodeSet.nodes.length);
    ({ keyScalar, shares: ys } = dealt);
    const manifest = session.signManifest(grant, {
      contentId,
      commitments: dealt.commitments,
      keyScalar,
      cek,
      policy,
      issuedAt: deps.clock(),
    });
    // What every node will check, checked here first: a bad manifest fails once, locally.
    verifyManifest(suite, manifest, nodeSet, manifest.body.issuedAt, (delegation) =>
      walletCheckOnce(suite, grant, delegation),
    );
    const requests = await Promise.all(
      nodeSet.nodes.map(async (node) => {
        const share = ys[node.index - 1];
        if (share === undefined)
          throw new QkmsError(ErrorCode.INVALID_NODE_SET, 'publish: node index out of range');
        const context = publishSealContext(manifest.body, node.index);
        const sealed = await seal(suite, node.kemPublicKey, context, share);
        return { node, frame: encodeMessage({ type: 'publish', manifest, sealed }) };
      }),
    );
    for (const y of ys) wipe(y);
    if (options.beforeSend !== undefined) {
      signal.throwIfAborted();
      await raceSignal(Promise.resolve(options.beforeSend({ manifest, cek })), signal);
    }
    const hash = manifestHash(suite, manifest);
    const receipts = await Promise.all(
      requests.map(({ node, frame }) =>
        publishToNode(deps, node, frame, manifest, hash, signal, deadline),
      ),
    );
    options.signal?.throwIfAborted();
    return { manifest, cek, receipts };
  } catch (e) {
    if (options.cek === undefined) wipe(cek);
    throw e;
  } finally {
    for (const y of ys) wipe(y);
    if (keyScalar !== undefined) wipe(keyScalar);
  }
}
