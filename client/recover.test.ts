// Long file: one recover loop under every fault (hedging, wrong shares, retries, overdue nodes, rejections, deadlines) over one quorum set-up.
// recoverCek over an in-memory quorum of real node services: which nodes are
// asked and when, what is retried and what is final, that every share is
// checked against its commitment at the node's pinned index before it can
// reach the reconstruction, and that failure is closed, named per node, and
// within the deadline. Nodes are ordered 1..n by a seeded latency tracker,
// so every scenario is deterministic.
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  QkmsError,
  decodeMessage,
  toHex,
  type Manifest,
  type MessageOf,
} from '../protocol/internal.ts';
import { WALLET_PRIVATE_KEY } from '../test/support/protocol-fixture.ts';
import { RecoverError } from './errors.ts';
import { LatencyTracker } from './latency.ts';
import { publishContent } from './publish.ts';
import { newVerifiedManifests } from './manifest-cache.ts';
import { recoverCek, type RecoverDeps } from './recover.ts';
import type { NodeReport } from './report.ts';
import { Session } from './session.ts';
import { CLIENT_TIME, MemoryQuorum } from '../test/support/memory-quorum.ts';
import { walletFromViemAccount, type WalletSigner } from './wallet.ts';

const HOUR_MS = 3_600_000;
const account = privateKeyToAccount(WALLET_PRIVATE_KEY);

let mq: MemoryQuorum;
let signatures: number;
let wallet: WalletSigner;
let session: Session;
let manifest: Manifest;
let cek: Uint8Array;

/** Deps whose latency tracker asks nodes in `order` (every node measured, ascending). */
function deps(
  options: { hedge?: number; attemptTimeoutMs?: number; order?: readonly number[] } = {},
): RecoverDeps {
  const latency = new LatencyTracker();
  (options.order ?? mq.nodeSet.nodes.map((n) => n.index)).forEach((index, rank) => {
    latency.observe(index, rank + 1);
  });
  return {
    suite: mq.suite,
    nodeSet: mq.nodeSet,
    transport: mq,
    latency,
    clock: () => CLIENT_TIME,
    now: () => performance.now(),
    hedge: options.hedge ?? 0,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 2_000,
    verifiedManifests: newVerifiedManifests(),
  };
}

function recover(
  d: RecoverDeps,
  options: {
    timeoutMs?: number;
    signal?: AbortSignal;
    session?: Session;
    manifest?: Manifest;
  } = {},
): ReturnType<typeof recoverCek> {
  return recoverCek(d, options.manifest ?? manifest, options.session ?? session, {
    timeoutMs: options.timeoutMs ?? 5_000,
    signal: options.signal,
  });
}

function outcomes(report: readonly NodeReport[]): Record<number, string> {
  return Object.fromEntries(report.map((r) => [r.index, r.outcome]));
}

async function failure(p: Promise<unknown>): Promise<RecoverError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecoverError);
  return error as RecoverError;
}

function recoverMessage(body: Uint8Array): MessageOf<'recover'> {
  return decodeMessage(body, 1 << 16, ['recover']);
}

async function newSession(
  w: WalletSigner,
  actions: readonly ('publish' | 'recover')[] = ['publish', 'recover'],
): Promise<Session> {
  return Session.create({
    wallet: w,
    nodeSet: mq.nodeSet,
    capabilities: { actions, content: 'all' },
    lifetimeMs: HOUR_MS,
    clock: () => CLIENT_TIME,
  });
}

beforeEach(async () => {
  mq = new MemoryQuorum(5, 3);
  signatures = 0;
  const viem = walletFromViemAccount(account);
  wallet = {
    address: viem.address,
    signMessage: (message) => {
      signatures++;
      return viem.signMessage(message);
    },
  };
  session = await newSession(wallet);
  const published = await publishContent(
    { ...deps(), attemptTimeoutMs: 2_000 },
    session,
    { policy: { kind: 'open' } },
    5_000,
  );
  manifest = published.manifest;
  cek = published.cek;
  mq.calls.length = 0;
});

describe('recoverCek: asking and hedging', () => {
  it('asks the t fastest nodes and returns the CEK; the hedge node is not needed, the rest not asked', async () => {
    const { cek: recovered, report } = await recover(deps({ hedge: 1 }));
    expect(recovered).toEqual(cek);
    expect(new Set(mq.calls.map((c) => c.index))).toEqual(new Set([1, 2, 3]));
    expect(report[3]?.outcome).toBe('not-asked');
    expect(report[4]?.outcome).toBe('not-asked');
  });

  it('asks t + hedge nodes at once while any of the first t was never measured', async () => {
    const d = { ...deps({ hedge: 1 }), latency: new LatencyTracker() };
    const { cek: recovered } = await recover(d);
    expect(recovered).toEqual(cek);
    // The fifth is never asked: four were asked at once, and three sufficed.
    expect(new Set(mq.calls.map((c) => c.index)).size).toBe(4);
  });

  it('asks the hedge node once one of the first t is late, long before it is overdue', async () => {
    // Estimates 1..5 ms: the hedge goes out after 2 x 3 ms; overdue would be 250 ms.
    mq.fault(2, { kind: 'delay', ms: 150 });
    const { cek: recovered, report } = await recover(deps({ hedge: 1 }));
    expect(recovered).toEqual(cek);
    // Node 2 still held its place (not overdue), so only the hedge node replaced it.
    expect(outcomes(report)).toMatchObject({
      1: 'ok',
      2: 'cancelled',
      3: 'ok',
      4: 'ok',
      5: 'not-asked',
    });
  });

  it('sends each node its own fresh request: addressed to it, with a nonce never used before', async () => {
    await recover(deps({ hedge: 2 }));
    await recover(deps({ hedge: 2 }));
    const requests = mq.calls.map((c) => ({
      index: c.index,
      ...recoverMessage(c.body).request.body,
    }));
    for (const r of requests) expect(r.node).toBe(r.index);
    expect(new Set(requests.map((r) => toHex(r.nonce))).size).toBe(requests.length);
  });

  it('returns a CEK the caller owns: each call a new array', async () => {
    const a = await recover(deps());
    const b = await recover(deps());
    expect(a.cek).toEqual(b.cek);
    expect(a.cek).not.toBe(b.cek);
    a.cek.fill(0);
    expect(b.cek).toEqual(cek);
  });

  it('prefers nodes that answered fast: a node that answered BUSY is asked again only when needed', async () => {
    mq.always.set(1, { kind: 'reject', code: ErrorCode.BUSY });
    const d = { ...deps(), latency: new LatencyTracker() }; // nothing measured yet
    for (let i = 0; i < 4; i++) expect((await recover(d)).cek).toEqual(cek);
    // Unmeasured nodes go first, so node 1 is asked (and penalised) within two recovers, then never.
    expect(mq.callsTo(1)).toHaveLength(1);
  });
});

describe('recoverCek: wrong shares', () => {
  it('names a node serving a wrong share and asks another node not yet asked', async () => {
    mq.nodes[0] = mq.nodes[0]!.with({ faults: { wrongShare: true } });
    const { cek: recovered, report } = await recover(deps());
    expect(recovered).toEqual(cek);
    expect(outcomes(report)).toEqual({
      1: 'wrong-share',
      2: 'ok',
      3: 'ok',
      4: 'ok',
      5: 'not-asked',
    });
    expect(mq.callsTo(1)).toHaveLength(1); // a wrong share is final: not retried
  });

  it("takes x from the node's pinned index: nodes serving each other's (genuine) shares are both named", async () => {
    const [a, b] = [mq.nodes[0]!.store.records, mq.nodes[1]!.store.records];
    const key = toHex(manifest.body.contentId);
    const [ra, rb] = [a.get(key)!, b.get(key)!];
    a.set(key, { ...ra, share: rb.share });
    b.set(key, { ...rb, share: ra.share });
    const { cek: recovered, report } = await recover(deps());
    expect(recovered).toEqual(cek);
    expect(outcomes(report)).toMatchObject({
      1: 'wrong-share',
      2: 'wrong-share',
      3: 'ok',
      4: 'ok',
      5: 'ok',
    });
  });

  it('an answer that does not decode counts as a wrong share', async () => {
    mq.fault(2, { kind: 'garbage' });
    const { report } = await recover(deps());
    expect(report[1]?.outcome).toBe('wrong-share');
  });

  it('a badly framed answer is the node’s fault: a wrong share, not retried', async () => {
    mq.fault(2, { kind: 'bad-frame' });
    const { report } = await recover(deps());
    expect(report[1]?.outcome).toBe('wrong-share');
    expect(mq.callsTo(2)).toHaveLength(1);
  });

  it('fails closed when fewer than t nodes serve a share that verifies', async () => {
    for (const i of [0, 1, 2]) mq.nodes[i] = mq.nodes[i]!.with({ faults: { wrongShare: true } });
    const error = await failure(recover(deps({ hedge: 1 })));
    expect(error.reason).toBe('not-enough-shares');
    expect(error.code).toBe(ErrorCode.NOT_READY);
    expect(outcomes(error.report)).toEqual({
      1: 'wrong-share',
      2: 'wrong-share',
      3: 'wrong-share',
      4: 'ok',
      5: 'ok',
    });
  });
});

describe('recoverCek: transport faults are retried once, fresh', () => {
  it('retries a reset once with a new nonce on a fresh connection', async () => {
    mq.fault(1, { kind: 'reset' });
    const { cek: recovered, report } = await recover(deps());
    expect(recovered).toEqual(cek);
    expect(report[0]).toMatchObject({ outcome: 'ok', retried: true });
    const [first, second] = mq.callsTo(1);
    expect(first?.freshAfter).toBeUndefined();
    expect(second?.freshAfter).toBeTypeOf('number');
    expect(toHex(recoverMessage(second!.body).request.body.nonce)).not.toBe(
      toHex(recoverMessage(first!.body).request.body.nonce),
    );
  });

  it('a node that fails twice is unreachable, and another node takes its place', async () => {
    mq.down.add(2);
    const { cek: recovered, report } = await recover(deps());
    expect(recovered).toEqual(cek);
    expect(report[1]).toMatchObject({ outcome: 'unreachable', retried: true });
    expect(mq.callsTo(2)).toHaveLength(2);
    expect(outcomes(report)).toEqual({
      1: 'ok',
      2: 'unreachable',
      3: 'ok',
      4: 'ok',
      5: 'not-asked',
    });
  });

  it('an attempt that times out is retried once, fresh, after the nodes not yet asked were tried', async () => {
    mq.fault(1, { kind: 'hang' });
    mq.down.add(4);
    mq.down.add(5);
    const { report } = await recover(deps({ attemptTimeoutMs: 100 }), { timeoutMs: 3_000 });
    expect(report[0]).toMatchObject({ outcome: 'ok', retried: true });
    expect(mq.callsTo(1)[1]?.freshAfter).toBeTypeOf('number');
    // Node 1 overdue: 4 and 5 asked in its place (each fails twice), then node 1's retry.
    expect(mq.calls.map((c) => c.index)).toEqual([1, 2, 3, 4, 4, 5, 5, 1]);
  });

  it('two timeouts make a node `timeout`: with no other node to ask, the recover fails closed naming it', async () => {
    mq.always.set(3, { kind: 'hang' });
    mq.down.add(4);
    mq.down.add(5);
    const error = await failure(recover(deps({ attemptTimeoutMs: 50 }), { timeoutMs: 3_000 }));
    expect(error.reason).toBe('not-enough-shares');
    expect(outcomes(error.report)).toEqual({
      1: 'ok',
      2: 'ok',
      3: 'timeout',
      4: 'unreachable',
      5: 'unreachable',
    });
    expect(error.report[2]?.retried).toBe(true);
    expect(mq.callsTo(3)).toHaveLength(2);
  });
});

describe('recoverCek: silent nodes are replaced before they are retried (issue 13)', () => {
  // Each attempt gets half the call's deadline, as QuorumClient gives it: a silent node's
  // attempt and its retry then fill the whole call.
  const call = { timeoutMs: 2_000 };
  const attemptTimeoutMs = 1_000;

  it('two asked nodes silent at once, three healthy: the fifth node is asked before either silent node is retried, and the recover succeeds', async () => {
    mq.always.set(1, { kind: 'hang' });
    mq.always.set(2, { kind: 'hang' });
    const { cek: recovered, report } = await recover(deps({ hedge: 1, attemptTimeoutMs }), call);
    expect(recovered).toEqual(cek);
    // 1-4 at once, then 5 as the replacement; no second request to 1 or 2 was needed.
    expect(mq.calls.map((c) => c.index)).toEqual([1, 2, 3, 4, 5]);
    expect(outcomes(report)).toEqual({
      1: 'cancelled',
      2: 'cancelled',
      3: 'ok',
      4: 'ok',
      5: 'ok',
    });
  });

  it('without a hedge, each of two silent nodes gets its own replacement', async () => {
    mq.always.set(1, { kind: 'hang' });
    mq.always.set(2, { kind: 'hang' });
    const { cek: recovered, report } = await recover(deps({ hedge: 0, attemptTimeoutMs }), call);
    expect(recovered).toEqual(cek);
    expect(mq.calls.map((c) => c.index)).toEqual([1, 2, 3, 4, 5]);
    expect(outcomes(report)).toEqual({
      1: 'cancelled',
      2: 'cancelled',
      3: 'ok',
      4: 'ok',
      5: 'ok',
    });
  });

  it('three nodes silent: fails closed at the deadline naming all three as timed out, none as not-asked', async () => {
    for (const i of [1, 2, 5]) mq.always.set(i, { kind: 'hang' });
    const error = await failure(recover(deps({ hedge: 1, attemptTimeoutMs }), call));
    expect(error.reason).toBe('aborted');
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes(error.report)).toEqual({
      1: 'timeout',
      2: 'timeout',
      3: 'ok',
      4: 'ok',
      5: 'timeout',
    });
    // Every node is asked once before any silent one is asked again.
    expect(mq.calls.slice(0, 5).map((c) => c.index)).toEqual([1, 2, 3, 4, 5]);
    for (const i of [1, 2]) {
      expect(mq.callsTo(i)).toHaveLength(2);
      expect(mq.callsTo(i)[1]?.freshAfter).toBeTypeOf('number');
      expect(error.report[i - 1]?.retried).toBe(true);
    }
  });

  it("an attempt is overdue by its node's own estimate: a node known to be slow is waited for, one known to be fast is replaced", async () => {
    mq.always.set(1, { kind: 'delay', ms: 400 });
    // Known slow: every estimate about 300 ms, so node 1 is overdue only at the bound (1 s).
    const slow = { ...deps({ attemptTimeoutMs: 2_000 }), latency: new LatencyTracker() };
    for (const i of [1, 2, 3, 4, 5]) slow.latency.observe(i, 299 + i);
    expect((await recover(slow)).cek).toEqual(cek);
    expect(mq.calls.map((c) => c.index)).toEqual([1, 2, 3]);

    // Known fast (a few ms): node 1 is overdue at the floor, well before it answers.
    mq.calls.length = 0;
    expect((await recover(deps({ attemptTimeoutMs: 2_000 }))).cek).toEqual(cek);
    expect(mq.calls.map((c) => c.index)).toEqual([1, 2, 3, 4]);
  });
});

describe('recoverCek: rejections', () => {
  it('a give-up rejection is final for that node: no second request', async () => {
    mq.fault(1, { kind: 'reject', code: ErrorCode.REPLAYED });
    const { report } = await recover(deps());
    expect(report[0]).toEqual(expect.objectContaining({ outcome: 'rejected', code: 'REPLAYED' }));
    expect(report[0]?.retried).toBeUndefined();
    expect(mq.callsTo(1)).toHaveLength(1);
  });

  it('a retry-fresh rejection (STALE_EPOCH) gets one fresh request', async () => {
    mq.fault(1, { kind: 'reject', code: ErrorCode.STALE_EPOCH });
    const { report } = await recover(deps());
    expect(report[0]).toMatchObject({ outcome: 'ok', retried: true });
    const [first, second] = mq.callsTo(1);
    expect(toHex(recoverMessage(second!.body).request.body.nonce)).not.toBe(
      toHex(recoverMessage(first!.body).request.body.nonce),
    );
  });

  it('DELEGATION_EXPIRED from two nodes renews the session once, then both retry under the new delegation', async () => {
    mq.fault(1, { kind: 'reject', code: ErrorCode.DELEGATION_EXPIRED });
    mq.fault(2, { kind: 'reject', code: ErrorCode.DELEGATION_EXPIRED });
    const before = signatures;
    const { report } = await recover(deps());
    expect(signatures - before).toBe(1);
    expect(report.slice(0, 2).map((r) => [r.outcome, r.retried])).toEqual([
      ['ok', true],
      ['ok', true],
    ]);
    const hashes = mq.calls.map((c) => toHex(recoverMessage(c.body).request.body.delegationHash));
    expect(new Set(hashes).size).toBe(2); // the old delegation, then the renewed one
  });

  it('REVOKED from enough nodes fails with reason revoked', async () => {
    const revoked = {
      assertNotRevoked(): void {
        throw new QkmsError(ErrorCode.REVOKED, 'revoked');
      },
    };
    for (const i of [0, 1, 2]) mq.nodes[i] = mq.nodes[i]!.with({ revocations: revoked });
    const error = await failure(recover(deps()));
    expect(error.reason).toBe('revoked');
    expect(error.code).toBe(ErrorCode.REVOKED);
    expect(outcomes(error.report)).toMatchObject({ 1: 'rejected', 2: 'rejected', 3: 'rejected' });
  });
});

describe('recoverCek: before any request, and deadlines', () => {
  it('refuses a manifest whose CEK commitment was altered, before sending anything', async () => {
    const altered = structuredClone(manifest);
    const commitment = altered.body.cekCommitment;
    commitment[0] = (commitment[0] ?? 0) ^ 1;
    await expect(recover(deps(), { manifest: altered })).rejects.toMatchObject({
      code: ErrorCode.INVALID_MANIFEST,
    });
    expect(mq.calls).toHaveLength(0);
  });

  it('refuses a session without the recover capability, before sending anything', async () => {
    const publishOnly = await newSession(wallet, ['publish']);
    await expect(recover(deps(), { session: publishOnly })).rejects.toMatchObject({
      code: ErrorCode.CAPABILITY_DENIED,
    });
    expect(mq.calls).toHaveLength(0);
  });

  it('fails closed at the deadline with the asked nodes timed out and the rest not asked', async () => {
    for (const i of [1, 2, 3, 4, 5]) mq.always.set(i, { kind: 'hang' });
    const started = performance.now();
    const error = await failure(recover(deps({ attemptTimeoutMs: 5_000 }), { timeoutMs: 150 }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.reason).toBe('aborted');
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(outcomes(error.report)).toEqual({
      1: 'timeout',
      2: 'timeout',
      3: 'timeout',
      4: 'not-asked',
      5: 'not-asked',
    });
  });

  it("stops at the caller's abort, reporting the asked nodes cancelled", async () => {
    for (const i of [1, 2, 3, 4, 5]) mq.always.set(i, { kind: 'hang' });
    const controller = new AbortController();
    const pending = recover(deps(), { signal: controller.signal });
    setTimeout(() => {
      controller.abort(new Error('user closed the player'));
    }, 20);
    const error = await failure(pending);
    expect(error.reason).toBe('aborted');
    expect(error.report.slice(0, 3).map((r) => r.outcome)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
  });
});
