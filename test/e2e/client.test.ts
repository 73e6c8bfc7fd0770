// Long file: the client library against one set of real nodes; each case reuses the quorum it starts.
// The client library against real nodes on loopback (in-process daemons,
// real libp2p over TCP): publish then recover through QuorumClient and
// Session, hedging, failing closed, routing around a lying node, a slow node
// and a restarted one, a stale pooled connection, and the wallet adapters.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { peerIdFromString } from '@libp2p/peer-id';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  MAX_STREAMS_PER_NODE,
  RecoverError,
  QuorumClient,
  Session,
  walletFromEip1193,
  walletFromPrivateKey,
  walletFromViemAccount,
  type NodeReport,
  type WalletSigner,
} from '../../client/index.ts';
import {
  ErrorCode,
  createManifest,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  requireNativeSuite,
  type Manifest,
  type NodeSet,
  dealKey,
} from '../../protocol/internal.ts';
import {
  OTHER_WALLET_PRIVATE_KEY,
  WALLET_PRIVATE_KEY,
  hexToBytes,
  sessionFixture,
} from '../support/protocol-fixture.ts';
import {
  playerSession,
  startQuorum as startInProcess,
  stopNode,
  stopQuorum,
  type Quorum,
} from '../support/in-process.ts';
import { publishFrame } from '../support/service-fixture.ts';
import { ask, createClient, startNode } from '../support/quorum.ts';

const suite = requireNativeSuite();
/** Roomy rate limits: these tests send many requests from one wallet and one peer. */
const ROOMY = ['--per-ip-burst', '400', '--per-peer-burst', '400', '--per-wallet-burst', '400'];
const FAULTS = { QKMS_ENABLE_TEST_FAULTS: '1' };

const account = privateKeyToAccount(WALLET_PRIVATE_KEY);
const viemWallet = walletFromViemAccount(account);

function startQuorum(
  n: number,
  t: number,
  perNode: (index: number) => {
    args?: readonly string[];
    env?: Record<string, string>;
  } = () => ({}),
): Promise<Quorum> {
  return startInProcess(n, t, {
    node: (index) => {
      const extra = perNode(index);
      return {
        args: [...ROOMY, ...(extra.args ?? [])],
        ...(extra.env === undefined ? {} : { env: extra.env }),
      };
    },
  });
}

function session(
  nodeSet: NodeSet,
  wallet: WalletSigner = viemWallet,
  actions: readonly ('publish' | 'recover')[] = ['publish', 'recover'],
): Promise<Session> {
  return playerSession(nodeSet, wallet, actions);
}

function outcomes(report: readonly NodeReport[]): Record<number, string> {
  return Object.fromEntries(report.map((r) => [r.index, r.outcome]));
}

/** Recover requests each node has seen so far (answered or not), from its own metrics. */
async function recoverRequestsSeen(q: Quorum): Promise<number> {
  let total = 0;
  for (const node of q.nodes) {
    if (node === undefined) continue;
    const { values } = await node.metrics.requestDuration.get();
    for (const v of values)
      if (
        v.metricName === 'qkms_request_duration_seconds_count' &&
        v.labels['protocol'] === 'recover'
      )
        total += v.value;
  }
  return total;
}

async function expectRecoverError(p: Promise<unknown>): Promise<RecoverError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RecoverError) return e;
    throw e;
  }
  throw new Error('expected a RecoverError, but the recover succeeded');
}

describe('publish and recover, 3 nodes, t = 2', () => {
  let q: Quorum;
  let client: QuorumClient;
  let publisher: Session;
  let manifest: Manifest;
  let cek: Uint8Array;

  beforeAll(async () => {
    q = await startQuorum(3, 2);
    client = await QuorumClient.create({ nodeSet: q.files.nodeSet });
    publisher = await session(q.files.nodeSet);
    const published = await client.publish(publisher, { policy: { kind: 'open' } });
    manifest = published.manifest;
    cek = published.cek;
    expect(outcomes(published.receipts)).toEqual({ 1: 'ok', 2: 'ok', 3: 'ok' });
  });

  afterAll(async () => {
    await client.close();
    await stopQuorum(q);
  });

  it('publish stores a verified receipt at every node, and recover returns the same CEK', async () => {
    const { cek: recovered, report } = await client.recover(manifest, publisher);
    expect(recovered).toEqual(cek);
    expect(report.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(2);
  });

  it('a second recover with the same session works (fresh nonces, pooled connections)', async () => {
    const first = await client.recover(manifest, publisher);
    const second = await client.recover(manifest, publisher);
    expect(first.cek).toEqual(cek);
    expect(second.cek).toEqual(cek);
    expect(first.cek).not.toBe(second.cek); // each caller gets its own array to wipe
  });

  it('republishing the same content id is idempotent, and the receipts say so', async () => {
    const again = await client.publish(publisher, {
      cek: cek.slice(),
      contentId: manifest.body.contentId,
      policy: { kind: 'open' },
    });
    expect(outcomes(again.receipts)).toEqual({ 1: 'ok', 2: 'ok', 3: 'ok' });
    expect(again.receipts.map((r) => r.receipt?.body.status)).toEqual([
      'stored',
      'stored',
      'stored',
    ]);
    manifest = again.manifest; // the nodes now serve this manifest (new salt and shares)
    expect((await client.recover(manifest, publisher)).cek).toEqual(cek);
  });

  it('a manifest whose CEK commitment was altered is refused before any request is sent', async () => {
    const altered = structuredClone(manifest);
    const commitment = altered.body.cekCommitment;
    commitment[0] = (commitment[0] ?? 0) ^ 1;
    const before = await recoverRequestsSeen(q);
    await expect(client.recover(altered, publisher)).rejects.toMatchObject({
      code: ErrorCode.INVALID_MANIFEST,
    });
    expect(await recoverRequestsSeen(q)).toBe(before);
  });

  it('a signed manifest whose CEK commitment disagrees with its shares fails closed: no CEK, RecoverError', async () => {
    // The publisher shares one key scalar and wraps the CEK under another: every share is on
    // the committed polynomial, so only the CEK check can catch it — and it must.
    const fixture = await sessionFixture(suite, q.files.nodeSet, {
      issuedAt: Date.now() - 1000,
      label: 7,
    });
    const contentId = suite.randomBytes(32);
    const { shares, commitments } = dealKey(2, 3);
    const { keyScalar } = dealKey(2, 3);
    const lying = createManifest(suite, fixture.session, {
      contentId,
      nodeSetId: q.files.nodeSet.id,
      threshold: 2,
      shares: 3,
      commitments,
      keyScalar,
      cek: suite.randomBytes(32),
      publisher: hexToBytes(fixture.wallet.address),
      policy: { kind: 'open' },
      issuedAt: Date.now(),
      delegation: fixture.delegation,
    });
    const raw = await createClient();
    try {
      for (const i of [1, 2, 3]) {
        const answer = await ask(
          raw,
          q.files,
          i,
          'publish',
          await publishFrame(q.files, lying, shares[i - 1]!, i),
          'receipt',
        );
        expect(answer.type).toBe('receipt');
      }
    } finally {
      await raw.stop();
    }
    const error = await expectRecoverError(client.recover(lying, publisher));
    expect(error.reason).toBe('not-enough-shares');
    expect(error.code).toBe(ErrorCode.INVALID_MANIFEST);
    // Every node served a share that matched its commitment; the reconstruction still refused.
    expect(outcomes(error.report)).toEqual({ 1: 'ok', 2: 'ok', 3: 'ok' });
  });

  it('a wallet outside a publisher-only policy is refused by every node, and told so per node', async () => {
    const { manifest: privateManifest } = await client.publish(publisher, {
      policy: { kind: 'publisher-only' },
    });
    const stranger = await session(
      q.files.nodeSet,
      walletFromPrivateKey(OTHER_WALLET_PRIVATE_KEY),
      ['recover'],
    );
    try {
      const error = await expectRecoverError(client.recover(privateManifest, stranger));
      expect(error.reason).toBe('not-enough-shares');
      expect(error.code).toBe(ErrorCode.ACCESS_DENIED);
      expect(error.report.map((r) => [r.outcome, r.code, r.retried])).toEqual([
        ['rejected', 'ACCESS_DENIED', undefined],
        ['rejected', 'ACCESS_DENIED', undefined],
        ['rejected', 'ACCESS_DENIED', undefined],
      ]);
    } finally {
      stranger.destroy();
    }
  });

  it('walletFromEip1193 (personal_sign, hex message) and walletFromViemAccount produce delegations nodes accept', async () => {
    const provider = {
      request: async ({ method, params }: { method: string; params?: readonly unknown[] }) => {
        expect(method).toBe('personal_sign');
        expect(params?.[1]).toBe(account.address);
        return account.signMessage({ message: { raw: params?.[0] as `0x${string}` } });
      },
    };
    for (const wallet of [
      walletFromEip1193(provider, account.address),
      viemWallet,
      walletFromPrivateKey(WALLET_PRIVATE_KEY),
    ]) {
      const player = await session(q.files.nodeSet, wallet, ['recover']);
      try {
        expect((await client.recover(manifest, player)).cek).toEqual(cek);
      } finally {
        player.destroy();
      }
    }
  });

  it('a node restarted behind a pooled connection: the next recover succeeds and uses it', async () => {
    await client.recover(manifest, publisher); // every asked node now has a pooled connection
    await stopNode(q, 3); // node 3 stays down, so node 1 is needed
    await stopNode(q, 1);
    q.nodes[0] = await startNode(q.files, 1, { args: ROOMY });
    try {
      const { cek: recovered, report } = await client.recover(manifest, publisher);
      expect(recovered).toEqual(cek);
      expect(report[0]?.outcome).toBe('ok');
      // Down: unreachable, or cancelled if nodes 1 and 2 answered before its retry failed.
      expect(['unreachable', 'cancelled']).toContain(report[2]?.outcome);
    } finally {
      q.nodes[2] = await startNode(q.files, 3, { args: ROOMY });
    }
  });

  it("the pool keeps one connection per node, and queues a burst beyond the node's stream limit instead of tripping it", async () => {
    const libp2p = await createClient();
    try {
      const pool = new ConnectionPool(libp2p, q.files.nodeSet.nodes);
      const node = q.files.nodeSet.nodes[0]!;
      const burst = 3 * MAX_STREAMS_PER_NODE;
      const answers = await Promise.all(
        Array.from({ length: burst }, () =>
          pool.request(node, 'info', encodeMessage({ type: 'info' }), {
            signal: AbortSignal.timeout(10_000),
          }),
        ),
      );
      for (const answer of answers)
        expect(decodeMessage(answer, 4096, ['info-ok']).info.node).toBe(1);
      expect(pool.size).toBe(1);
      expect(libp2p.getConnections(peerIdFromString(node.peerId))).toHaveLength(1);
    } finally {
      await libp2p.stop();
    }
  });

  it('a destroyed session is refused before anything is sent', async () => {
    const player = await session(q.files.nodeSet, viemWallet, ['recover']);
    player.destroy();
    await expect(client.recover(manifest, player)).rejects.toSatisfy((e: unknown) =>
      isQkmsError(e, ErrorCode.INVALID_ARGUMENT),
    );
  });
});

describe('5 nodes, t = 3: nodes down', () => {
  let q: Quorum;
  let client: QuorumClient;
  let publisher: Session;
  let manifest: Manifest;
  let cek: Uint8Array;

  beforeAll(async () => {
    q = await startQuorum(5, 3);
    client = await QuorumClient.create({ nodeSet: q.files.nodeSet, requestTimeoutMs: 8_000 });
    publisher = await session(q.files.nodeSet);
    ({ manifest, cek } = await client.publish(publisher, { policy: { kind: 'open' } }));
  });

  afterAll(async () => {
    await client.close();
    await stopQuorum(q);
  });

  it('with 2 nodes stopped the recover still succeeds from the other 3', async () => {
    await stopNode(q, 2);
    await stopNode(q, 4);
    const { cek: recovered, report } = await client.recover(manifest, publisher);
    expect(recovered).toEqual(cek);
    for (const i of [1, 3, 5]) expect(report[i - 1]?.outcome).toBe('ok');
    for (const i of [2, 4])
      expect(['unreachable', 'cancelled', 'not-asked']).toContain(report[i - 1]?.outcome);
  });

  it('with 3 nodes stopped it fails closed within its deadline, naming the down nodes unreachable', async () => {
    await stopNode(q, 5);
    const started = performance.now();
    const error = await expectRecoverError(client.recover(manifest, publisher));
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(error.reason).toBe('not-enough-shares');
    expect(outcomes(error.report)).toEqual({
      1: 'ok',
      2: 'unreachable',
      3: 'ok',
      4: 'unreachable',
      5: 'unreachable',
    });
    for (const i of [2, 4, 5]) expect(error.report[i - 1]?.retried).toBe(true);
  });
});

describe('a lying node and a slow node', () => {
  let q: Quorum | undefined;

  afterAll(async () => {
    await stopQuorum(q);
  });

  it('a node serving a wrong share is named wrong-share and routed around: the CEK is still right', async () => {
    // Node 2 lies and answers at once; the honest nodes answer 300 ms later, so the
    // lie always arrives first and is always checked.
    q = await startQuorum(3, 2, (i) =>
      i === 2
        ? { args: ['--test-wrong-share'], env: FAULTS }
        : { args: ['--test-delay-ms', '300'], env: FAULTS },
    );
    const client = await QuorumClient.create({ nodeSet: q.files.nodeSet, hedge: 1 });
    try {
      const publisher = await session(q.files.nodeSet);
      const { manifest, cek } = await client.publish(publisher, { policy: { kind: 'open' } });
      const { cek: recovered, report } = await client.recover(manifest, publisher);
      expect(recovered).toEqual(cek);
      expect(outcomes(report)).toEqual({ 1: 'ok', 2: 'wrong-share', 3: 'ok' });
    } finally {
      await client.close();
      await stopQuorum(q);
      q = undefined;
    }
  });

  it('a slow node does not hold the recover up: with hedge 1 it is cancelled or never needed', async () => {
    q = await startQuorum(5, 3, (i) =>
      i === 4 ? { args: ['--test-delay-ms', '2000'], env: FAULTS } : {},
    );
    const client = await QuorumClient.create({ nodeSet: q.files.nodeSet, hedge: 1 });
    try {
      const publisher = await session(q.files.nodeSet);
      const { manifest, cek } = await client.publish(publisher, { policy: { kind: 'open' } });
      for (let round = 0; round < 3; round++) {
        const { cek: recovered, report } = await client.recover(manifest, publisher);
        expect(recovered).toEqual(cek);
        // Had the recover waited for node 4, node 4 would be 'ok'.
        expect(['cancelled', 'not-asked']).toContain(report[3]?.outcome);
        expect(report.filter((r) => r.outcome === 'ok')).toHaveLength(3);
      }
    } finally {
      await client.close();
      await stopQuorum(q);
      q = undefined;
    }
  });
});

/** A TCP relay that can turn its open connections into black holes: open, but silent. */
class Relay {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  readonly #target: number;

  constructor(target: number) {
    this.#target = target;
    this.server = createServer((inbound) => {
      const outbound = connect(this.#target, '127.0.0.1');
      this.sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const drop = (): void => {
        inbound.destroy();
        outbound.destroy();
        this.sockets.delete(inbound);
        this.sockets.delete(outbound);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Existing connections stay open but forward nothing more, like a peer gone behind a dead NAT. */
  blackhole(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
    this.sockets.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a pooled connection gone silent', () => {
  let q: Quorum;
  const relays: Relay[] = [];

  beforeAll(async () => {
    q = await startQuorum(3, 2);
  });

  afterAll(async () => {
    for (const relay of relays) await relay.close();
    await stopQuorum(q);
  });

  it('times out, then retries once on a fresh connection with a fresh request, and recovers', async () => {
    // The client reaches each node through a relay (the pinned PeerIds are unchanged).
    const nodes = [];
    for (const [i, node] of q.files.nodeSet.nodes.entries()) {
      const relay = new Relay(q.files.ports[i] ?? 0);
      relays.push(relay);
      nodes.push({ ...node, multiaddrs: [`/ip4/127.0.0.1/tcp/${await relay.listen()}`] });
    }
    const nodeSet: NodeSet = { ...q.files.nodeSet, nodes };
    const client = await QuorumClient.create({ nodeSet, hedge: 1, requestTimeoutMs: 3_000 });
    try {
      const publisher = await session(q.files.nodeSet);
      const { manifest, cek } = await client.publish(publisher, { policy: { kind: 'open' } });
      for (const relay of relays) relay.blackhole();
      const { cek: recovered, report } = await client.recover(manifest, publisher);
      expect(recovered).toEqual(cek);
      const ok = report.filter((r) => r.outcome === 'ok');
      expect(ok.length).toBeGreaterThanOrEqual(2);
      for (const r of ok) expect(r.retried).toBe(true);
    } finally {
      await client.close();
    }
  });
});
