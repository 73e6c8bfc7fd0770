// LiveRevocations: a record is applied at once, acknowledged only once it
// is durably stored, stored and announced once however often it arrives,
// checked once (a replay costs no signature work), rebuilt from the store on
// load (another node set's records counted, never applied), and a failing
// store fails closed: no acknowledgement, but the target is already refused.
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import {
  ErrorCode,
  isQkmsError,
  requireNativeSuite,
  toHex,
  type CryptoSuite,
  type NodeSet,
} from '../protocol/index.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import {
  adminsFixture,
  forged,
  principalsFor,
  revocationBody,
  signedRecords,
} from '../test/support/revocation-fixture.ts';
import { MemoryRevocationStore } from '../test/support/revocation-store.ts';
import { LiveRevocations, type LiveRevocationsDeps, type RecordSource } from './live.ts';
import { signRevocation, type RevocationRecord } from './record.ts';

const suite = requireNativeSuite();
const fixture = quorumFixture(suite);
const { nodeSet } = fixture;
/** One record of each kind. */
const records = signedRecords(suite, fixture, 5);
const first = records[0]!;

interface World {
  readonly live: LiveRevocations;
  readonly store: MemoryRevocationStore;
  readonly verify: ReturnType<typeof vi.fn>;
  readonly stored: [RevocationRecord, RecordSource][];
}

/** A live set over `store`, with a spy on signature verification and on onStored. */
async function world(
  store = new MemoryRevocationStore(),
  options: { nodeSet?: NodeSet } = {},
): Promise<World> {
  const verify = vi.fn((signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) =>
    suite.hybrid.verify(signature, message, publicKey),
  );
  const spied: CryptoSuite = { ...suite, hybrid: { ...suite.hybrid, verify } };
  const stored: [RevocationRecord, RecordSource][] = [];
  const deps: LiveRevocationsDeps = {
    suite: spied,
    nodeSet: options.nodeSet ?? nodeSet,
    store,
    onStored: (record, source) => stored.push([record, source]),
  };
  return { live: await LiveRevocations.load(deps), store, verify, stored };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

describe('LiveRevocations.accept', () => {
  it('applies a record at once but resolves only after the store put resolved', async () => {
    const { live, store, stored } = await world();
    const gate = Promise.withResolvers<undefined>();
    store.gate = gate.promise;
    let settled = false;
    const accepting = live.accept(first.bytes, 'client').finally(() => {
      settled = true;
    });
    await tick();
    expect(store.putCalls).toBe(1);
    expect(settled).toBe(false);
    expect(store.has(first.id)).toBe(false);
    // A request in flight already sees it.
    expect(live.revokedBy(principalsFor(first.body))).toBe(first.body.kind);
    expect(stored).toEqual([]);

    gate.resolve(undefined);
    const accepted = await accepting;
    expect(accepted.status).toBe('stored');
    expect(toHex(accepted.record.id)).toBe(toHex(first.id));
    expect(store.putsStored).toBe(1);
    expect(toHex(store.records.get(toHex(first.id))!)).toBe(toHex(first.bytes));
    expect(live.size).toBe(1);
    expect(stored.map(([r, source]) => [toHex(r.id), source])).toEqual([
      [toHex(first.id), 'client'],
    ]);
  });

  it('refuses each kind it applies with REVOKED through assertNotRevoked', async () => {
    const { live } = await world();
    for (const record of records) {
      await live.accept(record.bytes, 'push');
      const error = (() => {
        try {
          live.assertNotRevoked(principalsFor(record.body));
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(isQkmsError(error, ErrorCode.REVOKED)).toBe(true);
    }
    expect(live.size).toBe(records.length);
  });

  it("answers a replay 'unchanged' without verifying a signature or storing again", async () => {
    const { live, store, verify, stored } = await world();
    expect((await live.accept(first.bytes, 'client')).status).toBe('stored');
    const verifications = verify.mock.calls.length;
    expect(verifications).toBeGreaterThan(0);
    expect((await live.accept(first.bytes, 'sync')).status).toBe('unchanged');
    expect(verify.mock.calls.length).toBe(verifications);
    expect(store.putCalls).toBe(1);
    expect(stored).toHaveLength(1);
    expect(live.size).toBe(1);
  });

  it('two concurrent accepts of one record store it once and announce it once', async () => {
    const { live, store, stored, verify } = await world();
    const results = await Promise.all([
      live.accept(first.bytes, 'client'),
      live.accept(first.bytes.slice(), 'push'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored']);
    expect(store.putCalls).toBe(1);
    expect(stored).toHaveLength(1);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(live.size).toBe(1);
  });

  it('copies of one statement signed by different admins are one record', async () => {
    const two = adminsFixture(suite, { admins: 2, threshold: 1 });
    const body = revocationBody(two.nodeSet, 'content', 3);
    const byFirst = signRevocation(suite, two.nodeSet, body, [two.adminSeeds[0]!]);
    const bySecond = signRevocation(suite, two.nodeSet, body, [two.adminSeeds[1]!]);
    expect(toHex(byFirst.bytes)).not.toBe(toHex(bySecond.bytes));
    const { live, store, stored } = await world(new MemoryRevocationStore(), {
      nodeSet: two.nodeSet,
    });
    await Promise.all([live.accept(byFirst.bytes, 'push'), live.accept(bySecond.bytes, 'push')]);
    expect(store.putCalls).toBe(1);
    expect(stored).toHaveLength(1);
    expect((await live.accept(bySecond.bytes, 'sync')).status).toBe('unchanged');
    expect(live.size).toBe(1);
  });

  it('refuses a forged, a malformed and a foreign record with BAD_REVOCATION, storing nothing', async () => {
    const { live, store, stored } = await world();
    const foreignWorld = adminsFixture(suite, { admins: 1, threshold: 1, epoch: 7 });
    const foreign = signRevocation(
      suite,
      foreignWorld.nodeSet,
      revocationBody(foreignWorld.nodeSet, 'wallet'),
      [foreignWorld.adminSeeds[0]!],
    );
    for (const bytes of [forged(first.bytes), Uint8Array.of(0xa0), foreign.bytes]) {
      const error = await rejection(live.accept(bytes, 'push'));
      expect(isQkmsError(error, ErrorCode.BAD_REVOCATION)).toBe(true);
    }
    expect(store.putCalls).toBe(0);
    expect(stored).toEqual([]);
    expect(live.size).toBe(0);
    // The forged copy's target is not refused: a bad signature changes nothing.
    expect(live.revokedBy(principalsFor(first.body))).toBeUndefined();
  });

  it('fails closed: a store failure rejects the accept, yet the target is refused from then on', async () => {
    const { live, store, stored } = await world();
    const diskFull = new Error('disk full');
    store.failPuts = diskFull;
    expect(await rejection(live.accept(first.bytes, 'client'))).toBe(diskFull);
    expect(live.revokedBy(principalsFor(first.body))).toBe(first.body.kind);
    expect(store.has(first.id)).toBe(false);
    expect(stored).toEqual([]);
    // Not counted as held: the digest does not claim what the store lacks.
    expect(live.size).toBe(0);
    expect(live.summary(new Uint8Array(0)).count).toBe(0);

    // The next copy of it stores it and acknowledges.
    store.failPuts = undefined;
    expect((await live.accept(first.bytes, 'push')).status).toBe('stored');
    expect(store.has(first.id)).toBe(true);
    expect(live.size).toBe(1);
    expect(stored).toHaveLength(1);
  });
});

describe('LiveRevocations.load', () => {
  it('rebuilds membership and digest from the store', async () => {
    const before = await world();
    for (const record of records) await before.live.accept(record.bytes, 'client');

    const after = await world(before.store);
    expect(after.live.size).toBe(records.length);
    expect(after.live.foreign).toBe(0);
    for (const record of records)
      expect(after.live.revokedBy(principalsFor(record.body))).toBe(record.body.kind);
    const root = new Uint8Array(0);
    expect(after.live.summary(root)).toEqual(before.live.summary(root));
    expect(toHex(after.live.children(root))).toBe(toHex(before.live.children(root)));
    // Loading trusts the authenticated store: it verifies nothing.
    expect(after.verify).not.toHaveBeenCalled();
    // ...and what it loaded is known: a replay is 'unchanged'.
    expect((await after.live.accept(first.bytes, 'sync')).status).toBe('unchanged');
  });

  it('counts a stored record of another node set in `foreign` and does not apply it', async () => {
    const store = new MemoryRevocationStore();
    const other = adminsFixture(suite, { admins: 1, threshold: 1, epoch: 9 });
    const foreign = signRevocation(
      suite,
      other.nodeSet,
      revocationBody(other.nodeSet, 'session', 40),
      [other.adminSeeds[0]!],
    );
    store.place(foreign.id, foreign.bytes);
    store.place(first.id, first.bytes);
    const { live } = await world(store);
    expect(live.foreign).toBe(1);
    expect(live.size).toBe(1);
    expect(live.revokedBy(principalsFor(foreign.body))).toBeUndefined();
    expect(live.revokedBy(principalsFor(first.body))).toBe(first.body.kind);
  });

  it('refuses a store holding a record under another id (STORE_CORRUPT) or bytes that do not decode', async () => {
    const swapped = new MemoryRevocationStore();
    swapped.place(records[1]!.id, first.bytes);
    const error = await rejection(world(swapped));
    expect(isQkmsError(error, ErrorCode.STORE_CORRUPT)).toBe(true);

    const garbage = new MemoryRevocationStore();
    garbage.place(first.id, Uint8Array.of(1, 2, 3));
    expect(isQkmsError(await rejection(world(garbage)))).toBe(true);
  });
});

describe('LiveRevocations, the store side of anti-entropy', () => {
  it('records() returns stored bytes in order, skips unknown ids, and stops at maxBytes (at least one)', async () => {
    const { live } = await world();
    for (const record of records) await live.accept(record.bytes, 'client');
    const unknown = new Uint8Array(32).fill(0xee);
    const ids = [records[2]!.id, unknown, records[0]!.id, records[4]!.id];
    const all = await live.records(ids, Number.MAX_SAFE_INTEGER);
    expect(all.map(toHex)).toEqual(
      [records[2]!, records[0]!, records[4]!].map((r) => toHex(r.bytes)),
    );
    const one = records[2]!.bytes.length;
    expect(await live.records(ids, 1)).toHaveLength(1);
    expect(await live.records(ids, one + records[0]!.bytes.length)).toHaveLength(2);
  });

  it('ids() lists the stored ids under a prefix, ascending', async () => {
    const { live } = await world();
    for (const record of records) await live.accept(record.bytes, 'client');
    const sorted = records.map((r) => toHex(r.id)).sort();
    expect((await live.ids(new Uint8Array(0))).map(toHex)).toEqual(sorted);
    const prefix = records[3]!.id.subarray(0, 1);
    expect((await live.ids(prefix)).map(toHex)).toEqual(
      sorted.filter((id) => id.startsWith(toHex(prefix))),
    );
  });
});
