import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ErrorCode,
  checkRequestFreshness,
  defaultSuite,
  toHex,
  type RecoverRequestBody,
} from '../protocol/index.ts';
import {
  DEFAULT_MAX_REPLAY_ENTRIES,
  MAX_NONCE_BATCH,
  ReplayGuard,
  replayGuardLimits,
  type NonceStore,
} from './replay-guard.ts';
import { MemoryNonceStore } from '../test/support/nonce-store.ts';
import { NodeStore } from './store/index.ts';

const suite = defaultSuite();
const T0 = 1_700_000_000_000;
const LIVE = T0 + 180_000;
const OWNER = { wallet: new Uint8Array(20).fill(7), source: 'peer-a' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(path?: string, storageKey = KEY): Promise<NodeStore> {
  const dir = path ?? mkdtempSync(join(tmpdir(), 'qkms-'));
  if (path === undefined) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await NodeStore.open({ path: dir, storageKey, suite });
  cleanups.push(() => store.close());
  return store;
}
const KEY = suite.randomBytes(32);

function pair(): { sessionKey: Uint8Array; nonce: Uint8Array } {
  return { sessionKey: suite.randomBytes(32), nonce: suite.randomBytes(16) };
}

async function guardOn(
  store: NonceStore,
  clock: () => number = () => T0,
  extra: Partial<Parameters<typeof ReplayGuard.load>[0]> = {},
): Promise<ReplayGuard> {
  // Unless a test makes them differ, both clocks run together (no jump).
  const guard = await ReplayGuard.load({ store, clock, monotonic: clock, ...extra });
  cleanups.push(() => guard.stop());
  return guard;
}

describe('ReplayGuard: a (session key, nonce) pair is used once', () => {
  it('refuses a sequential replay, before and after its commit', async () => {
    const guard = await guardOn(new MemoryNonceStore());
    const { sessionKey, nonce } = pair();
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(true);
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(false);
    await guard.commit(sessionKey, nonce);
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(false);
    // A copy of the same bytes is the same pair.
    expect(guard.reserve(sessionKey.slice(), nonce.slice(), LIVE, OWNER)).toBe(false);
  });

  it('lets exactly one of 50 concurrent copies of one request through', async () => {
    const guard = await guardOn(await openStore());
    const { sessionKey, nonce } = pair();
    const handle = async (): Promise<boolean> => {
      await Promise.resolve(); // each copy arrives on its own turn, as from a stream
      if (!guard.reserve(sessionKey, nonce, LIVE, OWNER)) return false;
      await guard.commit(sessionKey, nonce);
      return true;
    };
    const results = await Promise.all(Array.from({ length: 50 }, handle));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('treats another nonce, or the same nonce under another session key, as independent', async () => {
    const guard = await guardOn(new MemoryNonceStore());
    const { sessionKey, nonce } = pair();
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(true);
    expect(guard.reserve(sessionKey, suite.randomBytes(16), LIVE, OWNER)).toBe(true);
    expect(guard.reserve(suite.randomBytes(32), nonce, LIVE, OWNER)).toBe(true);
    expect(guard.size).toBe(3);
  });

  it('is keyed by the caller bytes at reserve time, not by a buffer the caller later changes', async () => {
    const guard = await guardOn(new MemoryNonceStore());
    const { sessionKey, nonce } = pair();
    const original = nonce.slice();
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(true);
    nonce.fill(0);
    expect(guard.reserve(sessionKey, original, LIVE, OWNER)).toBe(false);
  });

  it('refuses a pair whose expiry has already passed by its clock: too old to guard', async () => {
    let now = T0;
    const guard = await guardOn(new MemoryNonceStore(), () => now);
    expect(guard.reserve(suite.randomBytes(32), suite.randomBytes(16), T0, OWNER)).toBe(false);
    now = T0 - 1;
    expect(guard.reserve(suite.randomBytes(32), suite.randomBytes(16), T0, OWNER)).toBe(true);
  });

  it('never lets a replay through, whatever interleaving of reserves, commits and sweeps (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('reserve', 'commit', 'sweep', 'tick', 'flush'), {
          maxLength: 40,
          size: 'medium',
        }),
        async (ops) => {
          let now = T0;
          const guard = await ReplayGuard.load({
            store: new MemoryNonceStore(),
            clock: () => now,
            monotonic: () => now,
          });
          const { sessionKey, nonce } = pair();
          const expiresAt = T0 + 10;
          let granted = 0;
          const commits: Promise<void>[] = [];
          for (const op of ops) {
            if (op === 'reserve' && guard.reserve(sessionKey, nonce, expiresAt, OWNER)) granted++;
            if (op === 'commit' && granted > 0)
              commits.push(guard.commit(sessionKey, nonce).catch(() => undefined));
            if (op === 'sweep') await guard.sweep();
            if (op === 'tick') now += 6;
            if (op === 'flush') await new Promise((resolve) => setImmediate(resolve));
          }
          await Promise.all(commits);
          await guard.stop();
          return granted <= 1;
        },
      ),
    );
  });
});

describe('ReplayGuard: durable commits', () => {
  it('refuses a replay after close and reopen: commits survive and are loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { sessionKey, nonce } = pair();

    const store = await NodeStore.open({ path: dir, storageKey: KEY, suite });
    const guard = await ReplayGuard.load({ store, clock: () => T0 });
    expect(guard.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(true);
    await guard.commit(sessionKey, nonce);
    await guard.stop();
    await store.close();

    const store2 = await openStore(dir);
    const guard2 = await guardOn(store2);
    expect(guard2.size).toBe(1);
    expect(guard2.reserve(sessionKey, nonce, LIVE, OWNER)).toBe(false);
    await expect(guard2.commit(sessionKey, nonce)).resolves.toBeUndefined();
  });

  it('groups many concurrent commits into few synced batches, each resolving after its write', async () => {
    const store = await openStore();
    const guard = await guardOn(store);
    const put = vi.spyOn(store, 'putNonces');
    const pairs = Array.from({ length: 200 }, pair);
    await Promise.all(
      pairs.map(async (p) => {
        expect(guard.reserve(p.sessionKey, p.nonce, LIVE, OWNER)).toBe(true);
        await guard.commit(p.sessionKey, p.nonce);
        // By the time a commit resolves, its pair has been handed to a completed write.
        const written = put.mock.calls.flatMap((c) => c[0]);
        expect(written.some((e) => toHex(e.nonce) === toHex(p.nonce))).toBe(true);
      }),
    );
    expect(put.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(put.mock.calls.length).toBeLessThan(pairs.length);
    expect(put.mock.calls.length).toBeLessThanOrEqual(3);
    expect(put.mock.calls.flatMap((c) => c[0])).toHaveLength(pairs.length);
    expect(await store.listNonces(T0)).toHaveLength(pairs.length);
  });

  it('caps a batch at MAX_NONCE_BATCH pairs and writes the rest in the next', async () => {
    const store = new MemoryNonceStore();
    const put = vi.spyOn(store, 'putNonces');
    const guard = await guardOn(store);
    const pairs = Array.from({ length: MAX_NONCE_BATCH + 10 }, pair);
    const commits = pairs.map((p) => {
      guard.reserve(p.sessionKey, p.nonce, LIVE, { wallet: suite.randomBytes(20), source: 'many' });
      return guard.commit(p.sessionKey, p.nonce);
    });
    await Promise.all(commits);
    expect(put.mock.calls.map((c) => c[0].length)).toEqual([MAX_NONCE_BATCH, 10]);
  });

  it('waits up to flushIntervalMs for companions', async () => {
    const store = new MemoryNonceStore();
    const put = vi.spyOn(store, 'putNonces');
    const guard = await guardOn(store, () => T0, { flushIntervalMs: 200 });
    const a = pair();
    const b = pair();
    guard.reserve(a.sessionKey, a.nonce, LIVE, OWNER);
    guard.reserve(b.sessionKey, b.nonce, LIVE, OWNER);
    const first = guard.commit(a.sessionKey, a.nonce);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = guard.commit(b.sessionKey, b.nonce);
    await Promise.all([first, second]);
    expect(put).toHaveBeenCalledTimes(1);
  });

  it('rejects every commit of a batch whose write fails, and the pairs stay refused', async () => {
    const store = new MemoryNonceStore();
    store.failWrites = true;
    const guard = await guardOn(store);
    const pairs = [pair(), pair(), pair()];
    for (const p of pairs) guard.reserve(p.sessionKey, p.nonce, LIVE, OWNER);
    const results = await Promise.allSettled(pairs.map((p) => guard.commit(p.sessionKey, p.nonce)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    store.failWrites = false;
    for (const p of pairs) {
      expect(guard.reserve(p.sessionKey, p.nonce, LIVE, OWNER)).toBe(false);
      await expect(guard.commit(p.sessionKey, p.nonce)).rejects.toThrow('disk full');
    }
    // The guard still works for new pairs.
    const fresh = pair();
    expect(guard.reserve(fresh.sessionKey, fresh.nonce, LIVE, OWNER)).toBe(true);
    await guard.commit(fresh.sessionKey, fresh.nonce);
    expect(store.records.size).toBe(1);
  });

  it('refuses to commit a pair that was never reserved', async () => {
    const guard = await guardOn(new MemoryNonceStore());
    const { sessionKey, nonce } = pair();
    await expect(guard.commit(sessionKey, nonce)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  it('counts pending commits until their batch is written, and committing twice shares the write', async () => {
    const store = new MemoryNonceStore();
    const put = vi.spyOn(store, 'putNonces');
    const guard = await guardOn(store);
    const { sessionKey, nonce } = pair();
    guard.reserve(sessionKey, nonce, LIVE, OWNER);
    const once = guard.commit(sessionKey, nonce);
    const twice = guard.commit(sessionKey, nonce);
    expect(guard.pendingCommits).toBe(1);
    await Promise.all([once, twice]);
    expect(guard.pendingCommits).toBe(0);
    expect(put).toHaveBeenCalledTimes(1);
  });
});

describe('ReplayGuard: expiry', () => {
  it('sweeps expired pairs from memory and store, and load skips and deletes expired records', async () => {
    let now = T0;
    const store = await openStore();
    const guard = await guardOn(store, () => now);
    const short = pair();
    const long = pair();
    guard.reserve(short.sessionKey, short.nonce, T0 + 1_000, OWNER);
    guard.reserve(long.sessionKey, long.nonce, T0 + 5_000, OWNER);
    await Promise.all([
      guard.commit(short.sessionKey, short.nonce),
      guard.commit(long.sessionKey, long.nonce),
    ]);

    expect(await guard.sweep(T0 + 999)).toBe(0);
    now = T0 + 1_000; // live while now < expiresAt
    expect(await guard.sweep()).toBe(1);
    expect(guard.size).toBe(1);
    expect((await store.listNonces(0)).map((e) => toHex(e.nonce))).toEqual([toHex(long.nonce)]);
    // The swept pair is still refused: its expiry has passed.
    expect(guard.reserve(short.sessionKey, short.nonce, T0 + 1_000, OWNER)).toBe(false);

    const reloaded = await guardOn(store, () => T0 + 5_000);
    expect(reloaded.size).toBe(0);
    expect(await store.listNonces(0)).toEqual([]);
  });

  it('sweeps a reserved but never committed pair from memory only', async () => {
    let now = T0;
    const store = new MemoryNonceStore();
    const del = vi.spyOn(store, 'deleteNonces');
    const guard = await guardOn(store, () => now);
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, T0 + 10, OWNER);
    now = T0 + 10;
    expect(await guard.sweep()).toBe(1);
    expect(del).not.toHaveBeenCalled();
    await expect(guard.commit(p.sessionKey, p.nonce)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  it('a swept pair is past every freshness window: a replay of it is refused as expired first (property)', () => {
    // The service sets expiresAt = issuedAt + maxGrantAgeMs + maxClockSkewMs and
    // the guard forgets a pair once now >= expiresAt. At any such now, the
    // freshness check (step 3) refuses the request before step 8 runs.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.nat({ max: 10 ** 9 }),
        (issuedAt, maxAgeMs, maxSkewMs, later) => {
          const expiresAt = issuedAt + maxAgeMs + maxSkewMs;
          const now = Math.max(expiresAt, issuedAt + maxAgeMs + 1) + later;
          const body = { issuedAt } as RecoverRequestBody;
          expect(() => checkRequestFreshness(body, { now, maxAgeMs, maxSkewMs })).toThrow(
            expect.objectContaining({ code: ErrorCode.REQUEST_EXPIRED }),
          );
        },
      ),
    );
  });

  it('sweeps on a timer after start(), reports failures, and stop() clears the timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = T0;
    const store = new MemoryNonceStore();
    const errors: unknown[] = [];
    const guard = await guardOn(store, () => now, {
      sweepIntervalMs: 1_000,
      onSweepError: (e) => errors.push(e),
    });
    guard.start();
    guard.start(); // idempotent
    expect(vi.getTimerCount()).toBe(1);
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, T0 + 500, OWNER);
    await guard.commit(p.sessionKey, p.nonce);
    now = T0 + 600;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(guard.size).toBe(0);
    expect(store.records.size).toBe(0);

    const q = pair();
    guard.reserve(q.sessionKey, q.nonce, T0 + 700, OWNER);
    await guard.commit(q.sessionKey, q.nonce);
    vi.spyOn(store, 'deleteNonces').mockRejectedValueOnce(new Error('io'));
    now = T0 + 800;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(errors).toHaveLength(1);
    expect(guard.sweepFailures).toBe(1);

    await guard.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('ReplayGuard: refused requests and partitions (issue 12, item 3)', () => {
  it('release() frees a reservation never committed, and leaves a committed pair used', async () => {
    const store = new MemoryNonceStore();
    const guard = await guardOn(store);
    const [a, b] = [pair(), pair()];
    expect(guard.reserve(a.sessionKey, a.nonce, LIVE, OWNER)).toBe(true);
    expect(guard.reserve(b.sessionKey, b.nonce, LIVE, OWNER)).toBe(true);
    expect(guard.has(a.sessionKey, a.nonce)).toBe(true);
    guard.release(a.sessionKey, a.nonce);
    expect(guard.has(a.sessionKey, a.nonce)).toBe(false);
    expect(guard.size).toBe(1);
    expect(guard.heldBy({ wallet: OWNER.wallet })).toBe(1);
    expect(guard.heldBy({ source: OWNER.source })).toBe(1);
    // Committed: release must not free it (the pair may have released a share).
    await guard.commit(b.sessionKey, b.nonce);
    guard.release(b.sessionKey, b.nonce);
    expect(guard.reserve(b.sessionKey, b.nonce, LIVE, OWNER)).toBe(false);
    expect(store.records.size).toBe(1);
    // The released pair can be reserved again.
    expect(guard.reserve(a.sessionKey, a.nonce, LIVE, OWNER)).toBe(true);
  });

  it('refused requests that release their pairs never fill the guard', async () => {
    const guard = await guardOn(new MemoryNonceStore(), () => T0, { maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) {
      const p = pair();
      const owner = { wallet: suite.randomBytes(20), source: `peer-${i}` };
      expect(guard.reserve(p.sessionKey, p.nonce, LIVE, owner)).toBe(true);
      guard.release(p.sessionKey, p.nonce);
    }
    expect(guard.size).toBe(0);
    const honest = pair();
    expect(guard.reserve(honest.sessionKey, honest.nonce, LIVE, OWNER)).toBe(true);
  });

  it('one wallet, or one source, cannot hold more than its share: RATE_LIMITED, others still served', async () => {
    let now = T0;
    const guard = await guardOn(new MemoryNonceStore(), () => now, {
      maxEntries: 1_000,
      maxPerWallet: 10,
      maxPerSource: 40,
    });
    const greedy = { wallet: new Uint8Array(20).fill(1), source: 'host-1' };
    for (let i = 0; i < 10; i++) {
      const p = pair();
      expect(guard.reserve(p.sessionKey, p.nonce, LIVE, greedy)).toBe(true);
    }
    const p = pair();
    expect(() => guard.reserve(p.sessionKey, p.nonce, LIVE, greedy)).toThrow(
      expect.objectContaining({ code: ErrorCode.RATE_LIMITED }),
    );
    // Fresh wallets from the same source: capped by the source's share.
    let taken = 10;
    for (let w = 0; taken < 40; w++) {
      const q = pair();
      const owner = { wallet: suite.randomBytes(20), source: 'host-1' };
      expect(guard.reserve(q.sessionKey, q.nonce, LIVE, owner)).toBe(true);
      taken++;
    }
    const r = pair();
    expect(() =>
      guard.reserve(r.sessionKey, r.nonce, LIVE, {
        wallet: suite.randomBytes(20),
        source: 'host-1',
      }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.RATE_LIMITED }));
    // Anyone else is still served.
    const honest = pair();
    expect(guard.reserve(honest.sessionKey, honest.nonce, LIVE, OWNER)).toBe(true);
    expect(guard.heldBy({ source: 'host-1' })).toBe(40);
    // A swept pair is no longer charged.
    now = LIVE;
    await guard.sweep();
    expect(guard.heldBy({ source: 'host-1' })).toBe(0);
    expect(guard.heldBy({ wallet: greedy.wallet })).toBe(0);
  });

  it('is sized from the node set parameters: the lifetime of a pair times the sizing rate', () => {
    const low = { ratePerSecond: 1, burst: 1 };
    const rates = { perWallet: low, perSource: low };
    expect(replayGuardLimits({ maxGrantAgeMs: 120_000, maxClockSkewMs: 30_000 }, rates)).toEqual({
      maxEntries: DEFAULT_MAX_REPLAY_ENTRIES,
      maxPerWallet: Math.ceil(DEFAULT_MAX_REPLAY_ENTRIES / 256),
      maxPerSource: Math.ceil(DEFAULT_MAX_REPLAY_ENTRIES / 64),
    });
    const at = (maxGrantAgeMs: number, maxClockSkewMs: number): number =>
      replayGuardLimits({ maxGrantAgeMs, maxClockSkewMs }, rates).maxEntries;
    expect(at(10_000, 0)).toBe(20_000);
    expect(at(600_000, 60_000)).toBe(720 * 2_000);
    expect(at(3_600_000, 300_000)).toBe(4_000_000);
    expect(at(1_000, 0)).toBe(10_000);
  });

  it('gives a partition at least what its rate limit admits over a pair lifetime, at most the guard', () => {
    const params = { maxGrantAgeMs: 120_000, maxClockSkewMs: 30_000 }; // 180 s
    // Defaults: 5/s burst 20 per wallet admits 920 < 1/256 of the guard; 50/s burst 100 per
    // address admits 9,100 > 1/64 of it.
    const defaults = replayGuardLimits(params, {
      perWallet: { ratePerSecond: 5, burst: 20 },
      perSource: { ratePerSecond: 50, burst: 100 },
    });
    expect(defaults.maxPerWallet).toBe(Math.ceil(DEFAULT_MAX_REPLAY_ENTRIES / 256));
    expect(defaults.maxPerSource).toBe(9_100);
    // An operator who lifts the rates (a benchmark, one trusted player service) lifts the share.
    const lifted = replayGuardLimits(params, {
      perWallet: { ratePerSecond: 100_000, burst: 100_000 },
      perSource: { ratePerSecond: 1_000, burst: 10 },
    });
    expect(lifted.maxPerWallet).toBe(DEFAULT_MAX_REPLAY_ENTRIES);
    expect(lifted.maxPerSource).toBe(180_010);
  });
});

describe('ReplayGuard: lifecycle and input', () => {
  it('stop() writes the commits already queued, then refuses new work with BUSY', async () => {
    const store = new MemoryNonceStore();
    const guard = await guardOn(store, () => T0, { flushIntervalMs: 10_000 });
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, LIVE, OWNER);
    const commit = guard.commit(p.sessionKey, p.nonce);
    const stopping = guard.stop();
    expect(guard.stop()).toBe(stopping);
    await stopping;
    await expect(commit).resolves.toBeUndefined();
    expect(store.records.size).toBe(1);

    const q = pair();
    expect(() => guard.reserve(q.sessionKey, q.nonce, LIVE, OWNER)).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
    guard.start(); // no timer after stop
  });

  it('throws BUSY beyond maxEntries', async () => {
    const guard = await guardOn(new MemoryNonceStore(), () => T0, {
      maxEntries: 2,
      maxPerWallet: 10,
      maxPerSource: 10,
    });
    const [a, b, c] = [pair(), pair(), pair()];
    expect(guard.reserve(a.sessionKey, a.nonce, LIVE, OWNER)).toBe(true);
    expect(guard.reserve(b.sessionKey, b.nonce, LIVE, OWNER)).toBe(true);
    // A replay is still answered as a replay when full.
    expect(guard.reserve(a.sessionKey, a.nonce, LIVE, OWNER)).toBe(false);
    expect(() => guard.reserve(c.sessionKey, c.nonce, LIVE, OWNER)).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
  });

  it.each([
    [
      'a 31-byte session key',
      new Uint8Array(31),
      new Uint8Array(16),
      LIVE,
      ErrorCode.INVALID_LENGTH,
    ],
    [
      'a 33-byte session key',
      new Uint8Array(33),
      new Uint8Array(16),
      LIVE,
      ErrorCode.INVALID_LENGTH,
    ],
    ['a 15-byte nonce', new Uint8Array(32), new Uint8Array(15), LIVE, ErrorCode.INVALID_LENGTH],
    [
      'a fractional expiry',
      new Uint8Array(32),
      new Uint8Array(16),
      LIVE + 0.5,
      ErrorCode.INVALID_ARGUMENT,
    ],
    [
      'a NaN expiry',
      new Uint8Array(32),
      new Uint8Array(16),
      Number.NaN,
      ErrorCode.INVALID_ARGUMENT,
    ],
  ] as const)('reserve refuses %s', async (_name, sessionKey, nonce, expiresAt, code) => {
    const guard = await guardOn(new MemoryNonceStore());
    expect(() => guard.reserve(sessionKey, nonce, expiresAt, OWNER)).toThrow(
      expect.objectContaining({ code }),
    );
    expect(guard.size).toBe(0);
  });

  it('refuses unknown or invalid options', async () => {
    const store = new MemoryNonceStore();
    await expect(
      ReplayGuard.load({ store, clock: () => T0, window: 5 } as unknown as Parameters<
        typeof ReplayGuard.load
      >[0]),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(
      ReplayGuard.load({ store, clock: () => T0, flushIntervalMs: -1 }),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(
      ReplayGuard.load({ store, clock: () => T0, sweepIntervalMs: 0 }),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});

describe('ReplayGuard: wall-clock jumps (issue 13, item 5)', () => {
  const MAX_AGE_MS = 120_000;
  const SKEW_MS = 30_000;
  const ISSUED = T0;
  const EXPIRES = ISSUED + MAX_AGE_MS + SKEW_MS;
  const JUMP_MS = 600_000;

  it('a forward jump alone forgets nothing: after the clock comes back, the pair is still refused', async () => {
    let wall = T0;
    let mono = 0;
    const store = new MemoryNonceStore();
    const guard = await guardOn(store, () => wall, { monotonic: () => mono });
    const p = pair();
    expect(guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER)).toBe(true);
    await guard.commit(p.sessionKey, p.nonce);
    wall = T0 + JUMP_MS; // the wall clock jumps 10 minutes ahead, for several sweeps
    for (let i = 0; i < 3; i++) {
      mono += 1_000;
      expect(await guard.sweep()).toBe(0);
    }
    wall = T0 + 3_000; // and comes back
    expect(guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER)).toBe(false);
    expect(store.records.size).toBe(1);
    expect(guard.clockMark).toBe(0);
    expect(guard.clockBehindMs()).toBe(0);
  });

  it('forgets a pair once both clocks say it expired, raising the durable mark first', async () => {
    let wall = T0;
    let mono = 0;
    const dir = mkdtempSync(join(tmpdir(), 'qkms-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await openStore(dir);
    const guard = await guardOn(store, () => wall, { monotonic: () => mono });
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER);
    await guard.commit(p.sessionKey, p.nonce);
    mono = EXPIRES - T0; // the monotonic clock has run the lifetime ...
    expect(await guard.sweep()).toBe(0); // ... but the wall clock has not
    wall = EXPIRES;
    expect(await guard.sweep()).toBe(1);
    expect(guard.clockMark).toBe(EXPIRES);
    expect(await store.getClockMark()).toBe(EXPIRES);
  });

  it('a backward jump past a forgotten pair: NOT_READY until the clock reaches the mark, then the pair is too old', async () => {
    let wall = T0;
    const guard = await guardOn(new MemoryNonceStore(), () => wall);
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER);
    await guard.commit(p.sessionKey, p.nonce);
    wall = EXPIRES;
    expect(await guard.sweep()).toBe(1);
    wall = EXPIRES - 60_000; // NTP steps the clock back a minute
    expect(guard.clockBehindMs()).toBe(60_000);
    expect(() => guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER)).toThrow(
      expect.objectContaining({ code: ErrorCode.NOT_READY }),
    );
    const fresh = pair();
    expect(() => guard.reserve(fresh.sessionKey, fresh.nonce, LIVE, OWNER)).toThrow(
      expect.objectContaining({ code: ErrorCode.NOT_READY }),
    );
    wall = EXPIRES;
    expect(guard.clockBehindMs()).toBe(0);
    expect(guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER)).toBe(false);
    expect(guard.reserve(fresh.sessionKey, fresh.nonce, LIVE, OWNER)).toBe(true);
  });

  it('a restart under a clock that is ahead, then one that is right: the mark carries over and refuses', async () => {
    const store = new MemoryNonceStore();
    const first = await guardOn(store, () => T0);
    const p = pair();
    first.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER);
    await first.commit(p.sessionKey, p.nonce);
    await first.stop();
    // Started while the clock was 10 minutes ahead: with no monotonic reference
    // across the restart, the load forgets the pair by the wall clock alone.
    const ahead = await guardOn(store, () => T0 + JUMP_MS);
    expect(ahead.size).toBe(0);
    expect(store.records.size).toBe(0);
    expect(store.clockMark).toBe(EXPIRES);
    await ahead.stop();
    const right = await guardOn(store, () => T0 + 3_000);
    expect(right.clockMark).toBe(EXPIRES);
    expect(right.clockBehindMs()).toBe(EXPIRES - T0 - 3_000);
    expect(() => right.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER)).toThrow(
      expect.objectContaining({ code: ErrorCode.NOT_READY }),
    );
  });

  it('forgets nothing when the mark cannot be written', async () => {
    let wall = T0;
    const store = new MemoryNonceStore();
    const guard = await guardOn(store, () => wall);
    const p = pair();
    guard.reserve(p.sessionKey, p.nonce, EXPIRES, OWNER);
    await guard.commit(p.sessionKey, p.nonce);
    store.failWrites = true;
    wall = EXPIRES;
    await expect(guard.sweep()).rejects.toThrow(/disk full/);
    expect(guard.size).toBe(1);
    expect(guard.clockMark).toBe(0);
    expect(guard.has(p.sessionKey, p.nonce)).toBe(true);
  });

  it('never grants one request twice, whatever the wall clock does across sweeps and restarts (property)', async () => {
    // True time advances; the wall clock is true time plus an offset that jumps
    // anywhere within +-15 minutes; the monotonic clock tracks true time from an
    // arbitrary origin that a restart changes. A request passes step 3
    // (freshness by the wall clock) and then step 8 (the guard).
    type Op =
      | { op: 'tick'; ms: number }
      | { op: 'offset'; ms: number }
      | { op: 'sweep' }
      | { op: 'restart'; origin: number }
      | { op: 'request' };
    const ops = fc.oneof(
      fc.record({
        op: fc.constant('tick' as const),
        ms: fc.oneof(fc.constantFrom(1_000, 30_000, 90_000), fc.integer({ min: 1, max: 90_000 })),
      }),
      fc.record({
        op: fc.constant('offset' as const),
        ms: fc.oneof(
          fc.constantFrom(-600_000, -180_000, -150_000, -60_000, 0, 60_000, 600_000),
          fc.integer({ min: -900_000, max: 900_000 }),
        ),
      }),
      fc.record({ op: fc.constant('sweep' as const) }),
      fc.record({ op: fc.constant('restart' as const), origin: fc.nat({ max: 10 ** 9 }) }),
      fc.record({ op: fc.constant('request' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { minLength: 4, maxLength: 24 }), async (script: Op[]) => {
        let truth = T0;
        let offset = 0;
        let origin = 0;
        const wall = (): number => truth + offset;
        const mono = (): number => truth - T0 + origin;
        const store = new MemoryNonceStore();
        const load = (): Promise<ReplayGuard> =>
          ReplayGuard.load({ store, clock: wall, monotonic: mono });
        let guard = await load();
        const { sessionKey, nonce } = pair();
        let granted = 0;
        // The first use, with a right clock; then whatever the script does.
        for (const step of [{ op: 'request' } as const, ...script]) {
          if (step.op === 'tick') truth += step.ms;
          if (step.op === 'offset') offset = step.ms;
          if (step.op === 'sweep') await guard.sweep();
          if (step.op === 'restart') {
            await guard.stop();
            origin = step.origin - (truth - T0);
            guard = await load();
          }
          if (step.op === 'request') {
            const now = wall();
            try {
              checkRequestFreshness({ issuedAt: ISSUED } as RecoverRequestBody, {
                now,
                maxAgeMs: MAX_AGE_MS,
                maxSkewMs: SKEW_MS,
              });
              if (guard.reserve(sessionKey, nonce, EXPIRES, OWNER)) {
                await guard.commit(sessionKey, nonce);
                granted++;
              }
            } catch {
              // refused: expired, from the future, or NOT_READY
            }
          }
        }
        await guard.stop();
        return granted <= 1;
      }),
      { numRuns: 1_000 },
    );
  });
});
