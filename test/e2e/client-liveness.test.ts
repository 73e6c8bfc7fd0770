// Client liveness against real node processes (issue 13, items 8 and 9): nodes that go
// silent — SIGSTOP: the process is alive, its sockets stay open, the kernel still acks,
// nothing answers — while a recover has asked them. A QuorumClient with the default
// deadline and hedge, over a ConnectionPool whose requests pass through a recorder that
// stops a node the moment the client asks it, so "the nodes the client asks first go
// silent" holds whatever order the client's latency ranking picks. Every stopped node is
// continued (SIGCONT) in a finally.
import type { Libp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  QuorumClient,
  RecoverError,
  type NodeReport,
  type NodeRequestOptions,
  type NodeTransport,
  type ProtocolName,
  type Session,
} from '../../client/index.ts';
import { ErrorCode, type Manifest, type NodeEntry } from '../../protocol/index.ts';
import { playerSession } from '../support/in-process.ts';
import {
  createClient,
  createQuorumFiles,
  spawnNode,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const N = 5;
const T = 3;
/** Roomy rate limits: every recover here comes from one wallet, one peer, one address. */
const ROOMY = [
  ...['--per-ip-burst', '400', '--per-peer-burst', '400', '--per-wallet-burst', '400'],
];
/** Recovers before the one under test: every node measured, every connection pooled. */
const WARMUP_RECOVERS = 6;

/** What the client asked, in order, and a hook that runs before a recover request leaves. */
class RecordingTransport implements NodeTransport {
  readonly asked: { readonly index: number; readonly fresh: boolean }[] = [];
  onAsk: ((index: number, distinct: readonly number[]) => void) | undefined;
  readonly #pool: ConnectionPool;

  constructor(pool: ConnectionPool) {
    this.#pool = pool;
  }

  request(
    node: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array> {
    if (protocol === 'recover') {
      this.asked.push({ index: node.index, fresh: options.freshAfter !== undefined });
      this.onAsk?.(node.index, this.distinct());
    }
    return this.#pool.request(node, protocol, body, options);
  }

  /** The nodes asked so far, each once, in the order first asked. */
  distinct(): number[] {
    return [...new Set(this.asked.map((a) => a.index))];
  }

  /** Forget what was asked (after the warm-up). */
  reset(): void {
    this.asked.length = 0;
  }
}

function outcomes(report: readonly NodeReport[]): Record<number, string> {
  return Object.fromEntries(report.map((r) => [r.index, r.outcome]));
}

describe('recover while asked nodes go silent (node processes, SIGSTOP)', () => {
  let files: QuorumFiles;
  const nodes: NodeProcess[] = [];
  let player: Session;
  let manifest: Manifest;
  let cek: Uint8Array;
  const stopped = new Set<number>();

  const silence = (index: number): void => {
    if (stopped.has(index)) return;
    nodes[index - 1]?.child.kill('SIGSTOP');
    stopped.add(index);
  };
  const resumeAll = (): void => {
    for (const index of stopped) nodes[index - 1]?.child.kill('SIGCONT');
    stopped.clear();
  };

  /** A QuorumClient with the default deadline and hedge, warmed up, over a recording pool. */
  async function warmClient(): Promise<{
    client: QuorumClient;
    transport: RecordingTransport;
    host: Libp2p;
  }> {
    const host = await createClient();
    const transport = new RecordingTransport(new ConnectionPool(host, files.nodeSet.nodes));
    const client = QuorumClient.withTransport({ nodeSet: files.nodeSet }, transport);
    for (let i = 0; i < WARMUP_RECOVERS; i++) {
      const { cek: got } = await client.recover(manifest, player);
      expect(got).toEqual(cek);
    }
    expect(new Set(transport.distinct())).toEqual(new Set([1, 2, 3, 4, 5]));
    transport.reset();
    return { client, transport, host };
  }

  beforeAll(async () => {
    files = await createQuorumFiles(N, T);
    for (let i = 1; i <= N; i++) nodes.push(await spawnNode(files, i, { args: ROOMY }));
    player = await playerSession(files.nodeSet);
    const host = await createClient();
    try {
      const publisher = QuorumClient.withTransport(
        { nodeSet: files.nodeSet },
        new ConnectionPool(host, files.nodeSet.nodes),
      );
      const published = await publisher.publish(player, { policy: { kind: 'open' } });
      expect(published.receipts.every((r) => r.outcome === 'ok')).toBe(true);
      manifest = published.manifest;
      cek = published.cek;
    } finally {
      await host.stop();
    }
  });

  afterAll(async () => {
    resumeAll();
    player.destroy();
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
    files.cleanup();
  });

  it('the first two nodes asked go silent at once: the fifth node is asked before either is retried, and the recover succeeds with the three that answer', async () => {
    const { client, transport, host } = await warmClient();
    try {
      transport.onAsk = (index, distinct) => {
        if (distinct.length <= 2) silence(index);
      };
      const { cek: recovered, report } = await client.recover(manifest, player);
      expect(recovered).toEqual(cek);
      const order = transport.distinct();
      const [a, b, ...healthy] = order;
      expect(order).toHaveLength(N);
      expect([...stopped].sort((x, y) => x - y)).toEqual(
        [a, b].sort((x, y) => (x ?? 0) - (y ?? 0)),
      );
      // The replacement (the fifth node asked) went out before any second request to a silent node.
      const fifth = transport.asked.findIndex((x) => x.index === order[4]);
      const firstRetry = transport.asked.findIndex((x) => x.fresh);
      expect(firstRetry === -1 || fifth < firstRetry).toBe(true);
      const byIndex = outcomes(report);
      for (const i of healthy) expect(byIndex[i]).toBe('ok');
      for (const i of [a, b]) expect(byIndex[i!]).toBe('cancelled');
    } finally {
      resumeAll();
      await client.close();
      await host.stop();
    }
  });

  it('three nodes silent (the first two asked, and the one not asked at first): fails closed naming all three as timed out', async () => {
    const { client, transport, host } = await warmClient();
    try {
      transport.onAsk = (index, distinct) => {
        if (distinct.length <= 2) silence(index);
        // Once t + hedge = 4 nodes are asked, the fifth goes silent too, before it is asked.
        if (distinct.length === T + 1)
          for (const node of files.nodeSet.nodes)
            if (!distinct.includes(node.index)) silence(node.index);
      };
      let error: unknown;
      try {
        (await client.recover(manifest, player)).cek.fill(0);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RecoverError);
      const failure = error as RecoverError;
      expect(failure.reason).toBe('aborted');
      expect(failure.code).toBe(ErrorCode.TIMEOUT);
      const silent = [...stopped].sort((x, y) => x - y);
      expect(silent).toHaveLength(3);
      const byIndex = outcomes(failure.report);
      for (const node of files.nodeSet.nodes)
        expect([node.index, byIndex[node.index]]).toEqual([
          node.index,
          silent.includes(node.index) ? 'timeout' : 'ok',
        ]);
    } finally {
      resumeAll();
      await client.close();
      await host.stop();
    }
  });
});
