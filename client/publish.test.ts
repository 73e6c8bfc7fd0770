// Publish through QuorumClient over an in-memory quorum of real node
// services: every node gets its own sealed share and a manifest it accepts,
// every receipt is checked against the node's key, node failures are
// reported and never thrown, and the client's option bags refuse what they
// do not know.
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  decodeMessage,
  encodeMessage,
  manifestHash,
  signReceipt,
  toHex,
  verifyManifest,
} from '../protocol/internal.ts';
import { WALLET_PRIVATE_KEY, seedBytes } from '../test/support/protocol-fixture.ts';
import { QuorumClient } from './quorum-client.ts';
import type { NodeReport } from './report.ts';
import { Session } from './session.ts';
import { CLIENT_TIME, MemoryQuorum } from '../test/support/memory-quorum.ts';
import type { NodeTransport } from './transport.ts';
import { walletFromViemAccount } from './wallet.ts';

const HOUR_MS = 3_600_000;
const wallet = walletFromViemAccount(privateKeyToAccount(WALLET_PRIVATE_KEY));

let mq: MemoryQuorum;
let client: QuorumClient;
let session: Session;

function outcomes(report: readonly NodeReport[]): Record<number, string> {
  return Object.fromEntries(report.map((r) => [r.index, r.outcome]));
}

function newClient(transport: NodeTransport = mq): QuorumClient {
  return QuorumClient.withTransport(
    { nodeSet: mq.nodeSet, clock: () => CLIENT_TIME, requestTimeoutMs: 2_000 },
    transport,
  );
}

beforeEach(async () => {
  mq = new MemoryQuorum(5, 3);
  client = newClient();
  session = await Session.create({
    wallet,
    nodeSet: mq.nodeSet,
    capabilities: { actions: ['publish', 'recover'], content: 'all' },
    lifetimeMs: HOUR_MS,
    clock: () => CLIENT_TIME,
  });
});

describe('QuorumClient.publish', () => {
  it('stores one share at every node and verifies every receipt; recover then returns the CEK', async () => {
    const { manifest, cek, receipts } = await client.publish(session, { policy: { kind: 'open' } });
    expect(cek).toHaveLength(32);
    expect(outcomes(receipts)).toEqual({ 1: 'ok', 2: 'ok', 3: 'ok', 4: 'ok', 5: 'ok' });
    for (const r of receipts) {
      expect(r.receipt?.body.status).toBe('stored');
      expect(r.receipt?.body.manifestHash).toEqual(manifestHash(mq.suite, manifest));
    }
    expect(() => verifyManifest(mq.suite, manifest, mq.nodeSet, CLIENT_TIME)).not.toThrow();
    expect((await client.recover(manifest, session)).cek).toEqual(cek);
  });

  it('uses the CEK and content id it is given; the owner republishing them stores the new manifest', async () => {
    const cek = seedBytes(1, 32);
    const contentId = seedBytes(2, 32);
    const first = await client.publish(session, { cek, contentId, policy: { kind: 'open' } });
    expect(first.cek).toBe(cek);
    expect(first.manifest.body.contentId).toEqual(contentId);
    // A second publish makes a new manifest (new salt, new shares): stored again, same owner.
    const second = await client.publish(session, { cek, contentId, policy: { kind: 'open' } });
    expect(second.receipts.every((r) => r.receipt?.body.status === 'stored')).toBe(true);
    expect((await client.recover(second.manifest, session)).cek).toEqual(cek);
  });

  it('sends each node only its own share, sealed to its key: a node cannot open another node’s frame', async () => {
    const { receipts } = await client.publish(session, { policy: { kind: 'open' } });
    expect(receipts.every((r) => r.outcome === 'ok')).toBe(true);
    const frame1 = mq.calls.find((c) => c.index === 1 && c.protocol === 'publish')!.body;
    await expect(mq.nodes[1]!.publish.handle(frame1)).rejects.toMatchObject({
      code: ErrorCode.SHARE_MISMATCH,
    });
  });

  it('reports a node that is down or refuses, without failing the publish', async () => {
    mq.down.add(2);
    mq.fault(4, { kind: 'reject', code: ErrorCode.RATE_LIMITED });
    const { manifest, cek, receipts } = await client.publish(session, { policy: { kind: 'open' } });
    expect(outcomes(receipts)).toEqual({
      1: 'ok',
      2: 'unreachable',
      3: 'ok',
      4: 'rejected',
      5: 'ok',
    });
    expect(receipts[1]?.retried).toBe(true);
    expect(receipts[3]?.code).toBe(ErrorCode.RATE_LIMITED);
    expect((await client.recover(manifest, session)).cek).toEqual(cek);
  });

  it('retries a transport fault once, then succeeds', async () => {
    mq.fault(3, { kind: 'reset' });
    const { receipts } = await client.publish(session, { policy: { kind: 'open' } });
    expect(receipts[2]).toMatchObject({ outcome: 'ok', retried: true });
  });

  it('names a node whose receipt does not verify (signed by another key) as wrong-share', async () => {
    const forging: NodeTransport = {
      request: async (node, protocol, body, options) => {
        const answer = await mq.request(node, protocol, body, options);
        if (node.index !== 5) return answer;
        const { receipt } = decodeMessage(answer, 1 << 16, ['receipt']);
        const forged = signReceipt(mq.suite.ed25519.signer(seedBytes(9, 32)), receipt.body);
        return encodeMessage({ type: 'receipt', receipt: forged });
      },
    };
    const { receipts } = await newClient(forging).publish(session, { policy: { kind: 'open' } });
    expect(outcomes(receipts)).toEqual({ 1: 'ok', 2: 'ok', 3: 'ok', 4: 'ok', 5: 'wrong-share' });
  });

  it('refuses, before sending, content the session may not publish and malformed options', async () => {
    const listed = await Session.create({
      wallet,
      nodeSet: mq.nodeSet,
      capabilities: { actions: ['publish'], content: [seedBytes(3, 32)] },
      lifetimeMs: HOUR_MS,
      clock: () => CLIENT_TIME,
    });
    await expect(client.publish(listed, { policy: { kind: 'open' } })).rejects.toMatchObject({
      code: ErrorCode.CAPABILITY_DENIED,
    });
    const ok = await client.publish(listed, {
      contentId: seedBytes(3, 32),
      policy: { kind: 'open' },
    });
    expect(ok.receipts.every((r) => r.outcome === 'ok')).toBe(true);
    const calls = mq.calls.length;
    const bad: [string, unknown][] = [
      ['short cek', { cek: new Uint8Array(16), policy: { kind: 'open' } }],
      ['short content id', { contentId: new Uint8Array(31), policy: { kind: 'open' } }],
      ['unknown option', { policy: { kind: 'open' }, threshold: 1 }],
      ['no policy', {}],
      ['unknown policy', { policy: { kind: 'everyone' } }],
    ];
    for (const [name, options] of bad) {
      await expect(
        client.publish(session, options as Parameters<QuorumClient['publish']>[1]),
        name,
      ).rejects.toSatisfy((e: unknown) => e instanceof Error && 'code' in e);
    }
    expect(mq.calls.length).toBe(calls);
  });

  it('beforeSend gets the signed manifest and the CEK before any node is asked, and publish waits for it', async () => {
    const seen: { calls: number; manifest?: unknown; cek?: Uint8Array }[] = [];
    const result = await client.publish(session, {
      policy: { kind: 'open' },
      beforeSend: async ({ manifest, cek }) => {
        await Promise.resolve();
        seen.push({ calls: mq.calls.length, manifest, cek: cek.slice() });
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.calls).toBe(0);
    expect(seen[0]?.manifest).toBe(result.manifest);
    expect(seen[0]?.cek).toEqual(result.cek);
    expect(result.receipts.every((r) => r.outcome === 'ok')).toBe(true);
  });

  it('a beforeSend that throws or rejects stops the publish: nothing is sent, the error is the caller’s', async () => {
    for (const beforeSend of [
      () => {
        throw new Error('disk full');
      },
      () => Promise.reject(new Error('disk full')),
    ]) {
      await expect(
        client.publish(session, { policy: { kind: 'open' }, beforeSend }),
      ).rejects.toThrow('disk full');
    }
    expect(mq.calls).toHaveLength(0);
    await expect(
      client.publish(session, {
        policy: { kind: 'open' },
        beforeSend: 'write files' as unknown as () => void,
      }),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it("rejects with the caller's abort reason", async () => {
    for (const i of [1, 2, 3, 4, 5]) mq.always.set(i, { kind: 'hang' });
    const controller = new AbortController();
    const pending = client.publish(session, {
      policy: { kind: 'open' },
      signal: controller.signal,
    });
    setTimeout(() => {
      controller.abort(new Error('publisher cancelled'));
    }, 20);
    await expect(pending).rejects.toThrow('publisher cancelled');
  });

  it('reports nodes that do not answer within the deadline as timeout', async () => {
    mq.always.set(5, { kind: 'hang' });
    const quick = QuorumClient.withTransport(
      { nodeSet: mq.nodeSet, clock: () => CLIENT_TIME, requestTimeoutMs: 400 },
      mq,
    );
    const { receipts } = await quick.publish(session, { policy: { kind: 'open' } });
    expect(receipts[4]).toMatchObject({ outcome: 'timeout', retried: true });
    expect(outcomes(receipts)).toMatchObject({ 1: 'ok', 2: 'ok', 3: 'ok', 4: 'ok' });
  });
});

describe('QuorumClient options and lifecycle', () => {
  it('refuses unknown options, a hedge beyond n − t and a deadline out of range', () => {
    const nodeSet = mq.nodeSet;
    const bad: unknown[] = [
      { nodeSet, retries: 3 },
      { nodeSet, hedge: 3 },
      { nodeSet, hedge: -1 },
      { nodeSet, requestTimeoutMs: 10 },
      { nodeSet, requestTimeoutMs: 1.5e3 + 0.5 },
      {},
      { nodeSet: { id: 'x' } },
    ];
    for (const options of bad)
      expect(() => QuorumClient.withTransport(options as { nodeSet: typeof nodeSet }, mq)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
  });

  it('refuses a session made for another node set', async () => {
    const other = new MemoryQuorum(3, 2);
    const stranger = await Session.create({
      wallet,
      nodeSet: other.nodeSet,
      capabilities: { actions: ['publish'], content: 'all' },
      lifetimeMs: HOUR_MS,
      clock: () => CLIENT_TIME,
    });
    await expect(client.publish(stranger, { policy: { kind: 'open' } })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  it('refuses every call after close(); close is idempotent', async () => {
    const { manifest } = await client.publish(session, { policy: { kind: 'open' } });
    await client.close();
    await client.close();
    await expect(client.recover(manifest, session)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    expect(toHex(manifest.body.contentId)).toHaveLength(64);
  });
});
