// QuorumClient across a change of node set, over an in-memory world with the
// real math (test/support/client-chain-world.ts): N = 5 nodes, t = 3, one
// content published on N; N+1 = N's nodes plus one, t' = 4, holding it
// redistributed. What is proved: the client follows a verified successor and
// recovers from it on the sharing record; mid-cutover it recovers from
// whichever set still has t nodes; it never adopts a chain the old admins did
// not sign; a share off its record, without one, or on a record whose C'_0 is
// not the publisher's never counts.
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, toHex, type NodeSet } from '../protocol/internal.ts';
import { ChainWorld, fileBytes } from '../test/support/client-chain-world.ts';
import { CLIENT_TIME } from '../test/support/memory-quorum.ts';
import { WALLET_PRIVATE_KEY } from '../test/support/protocol-fixture.ts';
import { RecoverError } from './errors.ts';
import { QuorumClient } from './quorum-client.ts';
import type { NodeReport } from './report.ts';
import { Session } from './session.ts';
import { Lineage } from './lineage.ts';
import { ShareBasis } from './share-basis.ts';
import { walletFromViemAccount } from './wallet.ts';

const HOUR_MS = 3_600_000;
const wallet = walletFromViemAccount(privateKeyToAccount(WALLET_PRIVATE_KEY));

let world: ChainWorld;
let session: Session;

function newClient(hedge = 1): QuorumClient {
  return QuorumClient.withTransport(
    { nodeSet: world.oldSet, clock: () => CLIENT_TIME, requestTimeoutMs: 5_000, hedge },
    world,
  );
}

function files(...texts: string[]): Uint8Array[] {
  return texts.map(fileBytes);
}

/** The successor's files as a node on N+1 lists them. */
function chainFiles(): Uint8Array[] {
  return files(world.old.nodeSetFile, world.next.toFile);
}

function outcomes(report: readonly NodeReport[]): Record<number, string> {
  return Object.fromEntries(report.map((r) => [r.index, r.outcome]));
}

function peers(set: NodeSet): string[] {
  return set.nodes.map((n) => n.peerId);
}

async function failure(p: Promise<unknown>): Promise<RecoverError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecoverError);
  return error as RecoverError;
}

beforeEach(async () => {
  world = await ChainWorld.create();
  session = await Session.create({
    wallet,
    nodeSet: world.oldSet,
    capabilities: { actions: ['recover'], content: 'all' },
    lifetimeMs: HOUR_MS,
    clock: () => CLIENT_TIME,
  });
});

describe('QuorumClient: following the node-set chain in a recover', () => {
  it('(a) recovers content published on N after every node moved to N+1 (5 -> 6 nodes, t 3 -> 4), following the chain', async () => {
    world.moveAll('new');
    const client = newClient();
    const { cek, report } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    // The client adopted N+1, verified from N, and the report is the successful attempt's: N+1's nodes.
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.newSet.id));
    expect(client.lineage.map((s) => toHex(s.id))).toEqual(
      [world.oldSet, world.newSet].map((s) => toHex(s.id)),
    );
    expect(report.map((r) => r.peerId)).toEqual(peers(world.newSet));
    expect(report.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(4);
    expect(world.calls.some((c) => c.protocol === 'reshare')).toBe(true);
    expect(world.callsNaming(world.newSet).length).toBeGreaterThanOrEqual(4);
  });

  it('(a) once followed, a recover asks N+1 directly: no request names N again', async () => {
    world.moveAll('new');
    const client = newClient();
    await client.recover(world.content.manifest, session);
    world.calls.length = 0;
    const { cek } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    expect(world.callsNaming(world.oldSet)).toHaveLength(0);
    expect(world.calls.some((c) => c.protocol === 'reshare')).toBe(false);
  });

  it('(b) mid-cutover (2 nodes on N+1 of 6, 3 still on N, one restarting): a client on N recovers from N', async () => {
    world.node(1).serving = 'new';
    world.node(5).serving = 'down';
    const client = newClient(2);
    const { cek, report } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    expect(report.map((r) => r.peerId)).toEqual(peers(world.oldSet));
    expect(outcomes(report)).toMatchObject({ 2: 'ok', 3: 'ok', 4: 'ok' });
  });

  it('(b) mid-cutover: a client already on N+1 falls back to N (the set before it), naming N', async () => {
    world.node(1).serving = 'new';
    world.node(5).serving = 'down';
    const client = newClient(2);
    expect(await client.follow({ files: chainFiles() })).toBe(true);
    const { cek, report } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    // First N+1 (two shares of the four needed), then N: its report, with node 1 refusing N.
    expect(world.callsNaming(world.newSet).length).toBeGreaterThan(0);
    expect(report.map((r) => r.peerId)).toEqual(peers(world.oldSet));
    expect(outcomes(report)).toMatchObject({ 2: 'ok', 3: 'ok', 4: 'ok' });
    expect(report[0]).toMatchObject({ outcome: 'rejected', code: ErrorCode.WRONG_NODE_SET });
    // Falling back does not un-follow: N+1 stays current.
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.newSet.id));
  });

  it("(c) a forged successor (not signed by N's admins) is not adopted, and the recover fails closed", async () => {
    world.moveAll('forged');
    const client = newClient();
    const error = await failure(client.recover(world.content.manifest, session));
    expect(error.code).toBe(ErrorCode.WRONG_NODE_SET);
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.oldSet.id));
    expect(client.lineage).toHaveLength(1);
    expect(world.calls.some((c) => c.protocol === 'reshare')).toBe(true);
    for (const r of error.report) expect(r.code).toBe(ErrorCode.WRONG_NODE_SET);
    expect(await client.follow({ files: files(world.old.nodeSetFile, world.forgedFile) })).toBe(
      false,
    );
  });

  it('(d) a node on N+1 whose share is off its record is named wrong-share; the recover succeeds from the others', async () => {
    world.moveAll('new');
    // The liar answers first, so its share is in the first combination and must be found out.
    for (let i = 1; i <= 6; i++) world.node(i).delayMs = i === 2 ? 0 : 30;
    world.node(2).corruptShare = true;
    const client = newClient(2);
    await client.follow({ files: chainFiles() });
    const { cek, report } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    expect(report[1]).toMatchObject({
      peerId: world.newSet.node(2)?.peerId,
      outcome: 'wrong-share',
    });
    expect(report.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(4);
  });

  it('(d) a share of redistributed content that comes without a record is a wrong share', async () => {
    world.moveAll('new');
    for (let i = 1; i <= 6; i++) world.node(i).delayMs = i === 3 ? 0 : 30;
    world.node(3).record = () => undefined;
    const client = newClient(2);
    await client.follow({ files: chainFiles() });
    const { cek, report } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    expect(report[2]?.outcome).toBe('wrong-share');
  });

  it("(e) a record whose C'_0 is not the manifest's is refused, though every node of N+1 signed it", async () => {
    world.moveAll('new');
    const forged = world.recordWithOtherSecret();
    for (let i = 1; i <= 6; i++) world.node(i).record = () => forged;
    const client = newClient(2);
    await client.follow({ files: chainFiles() });
    const error = await failure(client.recover(world.content.manifest, session));
    expect(error.reason).toBe('not-enough-shares');
    for (const r of error.report) expect(r.outcome).toBe('wrong-share');
  });

  it("(e) ShareBasis: the genuine record fixes the commitments; one with another C'_0, or another body, is refused", () => {
    const { suite, content } = world;
    const forged = world.recordWithOtherSecret();
    const basis = new ShareBasis(suite, content.manifest, world.newSet);
    expect(basis.accept(forged)).toBe(false);
    expect(basis.accept(undefined)).toBe(false);
    expect(basis.accept(world.record)).toBe(true);
    expect(basis.accept(forged)).toBe(false);
    // On the manifest's own set a record is never expected: one there is refused.
    const own = new ShareBasis(suite, content.manifest, world.oldSet);
    expect(own.accept(undefined)).toBe(true);
    expect(own.accept(world.record)).toBe(false);
  });
});

describe('QuorumClient.follow', () => {
  it('adopts only a list that chains from the current set; anything else is ignored without a throw', async () => {
    const client = newClient();
    const garbage = [Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"document":1}')];
    expect(await client.follow({ files: files(world.next.toFile) })).toBe(false); // no anchor
    expect(await client.follow({ files: garbage })).toBe(false);
    expect(await client.follow({ files: files(world.old.nodeSetFile) })).toBe(false); // nothing newer
    expect(await client.follow({ files: files(world.old.nodeSetFile, world.forgedFile) })).toBe(
      false,
    );
    expect(client.lineage).toHaveLength(1);
    expect(await client.follow({ files: chainFiles() })).toBe(true);
    expect(await client.follow({ files: chainFiles() })).toBe(false); // already current
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.newSet.id));
  });

  it("without files, asks the current set's nodes which sets they serve", async () => {
    world.moveAll('new');
    const client = newClient();
    expect(await client.follow()).toBe(true);
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.newSet.id));
  });

  it('info() asks the nodes of the current set after a follow, the joining node included', async () => {
    const client = newClient();
    await client.follow({ files: chainFiles() });
    const statuses = await client.info();
    expect(statuses.map((s) => s.peerId)).toEqual(peers(world.newSet));
  });
});

describe('QuorumClient pinned to the successor', () => {
  it('recovers content published on N with a session for N: it learns N from the nodes, by the id chain', async () => {
    for (let i = 1; i <= 6; i++) world.node(i).serving = 'new';
    const client = QuorumClient.withTransport(
      { nodeSet: world.newSet, clock: () => CLIENT_TIME, requestTimeoutMs: 5_000 },
      world,
    );
    const { cek } = await client.recover(world.content.manifest, session);
    expect(cek).toEqual(world.content.cek);
    expect(client.lineage.map((s) => toHex(s.id))).toEqual([
      toHex(world.oldSet.id),
      toHex(world.newSet.id),
    ]);
    expect(toHex(client.nodeSet.id)).toBe(toHex(world.newSet.id));
  });

  it('learns an ancestor only from a file whose id is its set’s predecessor, once', () => {
    const lineage = new Lineage(world.suite, world.newSet);
    expect(lineage.learnAncestors(files(world.forgedFile, world.next.toFile))).toBe(false);
    expect(lineage.learnAncestors([new TextEncoder().encode('not json')])).toBe(false);
    expect(lineage.learnAncestors(chainFiles())).toBe(true);
    expect(lineage.sets.map((s) => toHex(s.id))).toEqual([
      toHex(world.oldSet.id),
      toHex(world.newSet.id),
    ]);
    expect(lineage.learnAncestors(chainFiles())).toBe(false);
    expect(toHex(lineage.current.id)).toBe(toHex(world.newSet.id));
  });
});
