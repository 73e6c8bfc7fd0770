// revokeAll and listRevocations over an in-memory quorum whose nodes run the
// real /qkms/revoke handler (node/revocation/service.ts) over in-memory
// stores. Answers arrive after a per-node latency on a fake clock, so
// "effective" and "effectiveMs" are exact: effective once n - t + 1 nodes
// acknowledged durably (stored or unchanged), and not a moment before.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFingerprinter, silentLogger } from '../node/log.ts';
import { createNodeMetrics } from '../node/metrics.ts';
import { RevocationService } from '../node/revocation/service.ts';
import {
  ErrorCode,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  requireNativeSuite,
  toHex,
  type NodeEntry,
  type RejectionCode,
  rejectionCodeOf,
} from '../protocol/internal.ts';
import { decodeRevocation, signRevocation, type RevocationRecord } from '../revocation/index.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import {
  adminsFixture,
  forged,
  revocationBody,
  signedRecords,
} from '../test/support/revocation-fixture.ts';
import { MemoryRevocationStore } from '../test/support/revocation-store.ts';
import { listRevocations, revokeAll, type RevokeDeps, type RevokeResult } from './revoke.ts';
import { sleep } from '../test/support/memory-quorum.ts';
import type { NodeRequestOptions, NodeTransport, ProtocolName } from './transport.ts';

const suite = requireNativeSuite();
const fixture = quorumFixture(suite); // n = 5, t = 3: effective at 3 acknowledgements
const { nodeSet } = fixture;
const [record, ...others] = signedRecords(suite, fixture, 41) as [
  RevocationRecord,
  ...RevocationRecord[],
];

/** What a node does instead of answering with its service. */
type Behaviour =
  | { readonly kind: 'down' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reject'; readonly code: RejectionCode }
  | { readonly kind: 'ack-other-id' }
  | { readonly kind: 'answer'; readonly reply: (body: Uint8Array) => Uint8Array };

class RevokeQuorum implements NodeTransport {
  readonly services: RevocationService[] = [];
  readonly stores: MemoryRevocationStore[] = [];
  readonly behaviour = new Map<number, Behaviour>();
  readonly calls: { index: number; body: Uint8Array }[] = [];
  /** Node i answers after latency(i) ms of the fake clock. */
  latency: (index: number) => number = (index) => index * 10;

  static async create(): Promise<RevokeQuorum> {
    const quorum = new RevokeQuorum();
    for (let i = 0; i < nodeSet.nodes.length; i++) {
      const store = new MemoryRevocationStore();
      quorum.stores.push(store);
      quorum.services.push(
        await RevocationService.load({
          suite,
          nodeSet,
          store,
          clock: () => Date.now(),
          metrics: createNodeMetrics({ defaultMetrics: false }),
          log: silentLogger,
          fingerprint: createFingerprinter(new Uint8Array(32)),
          refuseStale: false,
          audit: { record: () => Promise.resolve() },
        }),
      );
    }
    return quorum;
  }

  async request(
    node: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array> {
    options.signal.throwIfAborted();
    expect(protocol).toBe('revoke');
    this.calls.push({ index: node.index, body });
    const behaviour = this.behaviour.get(node.index);
    if (behaviour?.kind === 'down') throw new Error('connection refused');
    if (behaviour?.kind === 'hang') {
      await sleep(2 ** 30, options.signal);
      throw new Error('unreachable');
    }
    let answer: Uint8Array;
    if (behaviour?.kind === 'reject')
      answer = encodeMessage({ type: 'reject', code: behaviour.code });
    else if (behaviour?.kind === 'ack-other-id')
      answer = encodeMessage({
        type: 'revoke-ok',
        id: new Uint8Array(32).fill(7),
        status: 'stored',
      });
    else if (behaviour?.kind === 'answer') answer = behaviour.reply(body);
    else answer = await this.#serve(node.index, body);
    await sleep(this.latency(node.index), options.signal);
    return answer;
  }

  async #serve(index: number, body: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.services[index - 1]!.handleRevoke(body);
    } catch (e) {
      const code = rejectionCodeOf(e);
      return encodeMessage({ type: 'reject', code });
    }
  }
}

let quorum: RevokeQuorum;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  quorum = await RevokeQuorum.create();
});

afterEach(() => {
  vi.useRealTimers();
});

function deps(): RevokeDeps {
  return { suite, nodeSet, transport: quorum, now: () => Date.now() };
}

/** Runs revokeAll to completion on the fake clock; the deadline is at 1 s. */
async function revoke(r: RevocationRecord = record): Promise<RevokeResult> {
  const deadline = new AbortController();
  setTimeout(() => {
    deadline.abort(new Error('deadline'));
  }, 1_000);
  const running = revokeAll(deps(), r, { signal: deadline.signal });
  await vi.runAllTimersAsync();
  return running;
}

async function list(index = 1): Promise<RevocationRecord[]> {
  const running = listRevocations(deps(), nodeSet.node(index)!, {
    signal: new AbortController().signal,
  });
  // Each page waits for the node's latency; keep the clock moving until it settles.
  const state = { settled: false };
  running.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  for (let step = 0; !state.settled && step < 1_000; step++) await vi.runAllTimersAsync();
  return running;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

const statuses = (result: RevokeResult): string[] => result.nodes.map((n) => n.status);

describe('revokeAll', () => {
  it('is effective once every node stored it; effectiveMs is when the third acknowledgement came', async () => {
    const result = await revoke();
    expect(toHex(result.id)).toBe(toHex(record.id));
    expect(result.needed).toBe(3);
    expect(result.acknowledged).toBe(5);
    expect(result.effective).toBe(true);
    expect(result.effectiveMs).toBe(30);
    expect(result.nodes).toEqual(
      [1, 2, 3, 4, 5].map((index) => ({ index, status: 'stored', ms: index * 10 })),
    );
    for (const store of quorum.stores) expect(store.has(record.id)).toBe(true);
  });

  it("sent again, every node answers 'unchanged', which still counts", async () => {
    await revoke();
    const again = await revoke();
    expect(statuses(again)).toEqual(Array(5).fill('unchanged'));
    expect(again.acknowledged).toBe(5);
    expect(again.effective).toBe(true);
  });

  it('is effective with n - t = 2 nodes down, at the last acknowledgement needed', async () => {
    quorum.behaviour.set(1, { kind: 'down' });
    quorum.behaviour.set(2, { kind: 'down' });
    const result = await revoke();
    expect(statuses(result)).toEqual(['unreachable', 'unreachable', 'stored', 'stored', 'stored']);
    expect(result.nodes[0]).toEqual({ index: 1, status: 'unreachable' });
    expect(result.acknowledged).toBe(3);
    expect(result.effective).toBe(true);
    expect(result.effectiveMs).toBe(50);
  });

  it('is not effective with three nodes down, and reports no effectiveMs', async () => {
    for (const index of [1, 3, 5]) quorum.behaviour.set(index, { kind: 'down' });
    const result = await revoke();
    expect(result.acknowledged).toBe(2);
    expect(result.effective).toBe(false);
    expect('effectiveMs' in result).toBe(false);
    // The nodes that were up hold it all the same.
    expect(quorum.stores[1]!.has(record.id)).toBe(true);
  });

  it('reports each node: stored, unchanged, rejected with its code, unreachable at the deadline', async () => {
    await quorum.services[1]!.live.accept(record.bytes, 'push'); // node 2 already holds it
    quorum.behaviour.set(3, { kind: 'reject', code: 'BUSY' });
    quorum.behaviour.set(4, { kind: 'hang' });
    quorum.behaviour.set(5, { kind: 'ack-other-id' });
    const result = await revoke();
    expect(result.nodes).toEqual([
      { index: 1, status: 'stored', ms: 10 },
      { index: 2, status: 'unchanged', ms: 20 },
      { index: 3, status: 'rejected', code: 'BUSY', ms: 30 },
      { index: 4, status: 'unreachable' },
      { index: 5, status: 'rejected', code: 'MALFORMED', ms: 50 },
    ]);
    expect(result.acknowledged).toBe(2);
    expect(result.effective).toBe(false);
    expect('effectiveMs' in result).toBe(false);
  });

  it('an acknowledgement naming another record does not count', async () => {
    for (const index of [1, 2, 3]) quorum.behaviour.set(index, { kind: 'ack-other-id' });
    const result = await revoke();
    expect(statuses(result)).toEqual(['rejected', 'rejected', 'rejected', 'stored', 'stored']);
    expect(result.acknowledged).toBe(2);
    expect(result.effective).toBe(false);
  });

  it('a record that does not verify is rejected by every node with BAD_REVOCATION and stored nowhere', async () => {
    const bad = decodeRevocation(suite, forged(others[0]!.bytes));
    const result = await revoke(bad);
    expect(result.nodes.map((n) => [n.status, n.code])).toEqual(
      Array(5).fill(['rejected', 'BAD_REVOCATION']),
    );
    expect(result.effective).toBe(false);
    for (const store of quorum.stores) expect(store.records.size).toBe(0);
  });
});

describe('listRevocations', () => {
  it('follows `more` page by page and returns every record the node holds, verified, in id order', async () => {
    const all = [record, ...others];
    for (const r of all) await quorum.services[0]!.live.accept(r.bytes, 'client');
    const listed = await list(1);
    expect(listed.map((r) => toHex(r.id))).toEqual(all.map((r) => toHex(r.id)).sort());
    // 41 records of ~3.4 KiB do not fit one 64 KiB frame: several pages, each after the last.
    const asks = quorum.calls.map((c) => decodeMessage(c.body, 1 << 16, ['revocations']));
    expect(asks.length).toBeGreaterThan(2);
    expect(toHex(asks[0]!.after)).toBe('');
    const ids = listed.map((r) => toHex(r.id));
    for (const ask of asks.slice(1)) expect(ids).toContain(toHex(ask.after));
  });

  it('an empty node lists nothing in one request', async () => {
    expect(await list(2)).toEqual([]);
    expect(quorum.calls).toHaveLength(1);
  });

  it('refuses a lying node: a record that does not verify is BAD_REVOCATION', async () => {
    quorum.behaviour.set(1, {
      kind: 'answer',
      reply: () =>
        encodeMessage({
          type: 'revocations-ok',
          records: [record.bytes, forged(others[0]!.bytes)],
          more: false,
        }),
    });
    const error = await failure(list(1));
    expect(isQkmsError(error, ErrorCode.BAD_REVOCATION)).toBe(true);
  });

  it('refuses a record of another node set, however well signed', async () => {
    const other = adminsFixture(suite, { admins: 1, threshold: 1, epoch: 5 });
    const foreign = signRevocation(suite, other.nodeSet, revocationBody(other.nodeSet, 'wallet'), [
      other.adminSeeds[0]!,
    ]);
    quorum.behaviour.set(1, {
      kind: 'answer',
      reply: () => encodeMessage({ type: 'revocations-ok', records: [foreign.bytes], more: false }),
    });
    const error = await failure(list(1));
    expect(isQkmsError(error, ErrorCode.BAD_REVOCATION)).toBe(true);
  });

  it("throws the node's rejection code", async () => {
    quorum.behaviour.set(1, { kind: 'reject', code: 'BUSY' });
    const error = await failure(list(1));
    expect(isQkmsError(error, ErrorCode.BUSY)).toBe(true);
  });

  it('refuses a node that answers every page with the same records and `more`, instead of following it', async () => {
    let pages = 0;
    quorum.behaviour.set(1, {
      kind: 'answer',
      reply: () => {
        pages += 1;
        if (pages > 50) throw new Error('test: the client kept asking');
        return encodeMessage({ type: 'revocations-ok', records: [record.bytes], more: true });
      },
    });
    const error = await failure(list(1));
    expect(isQkmsError(error)).toBe(true);
    expect(pages).toBeLessThanOrEqual(2);
  });
});
