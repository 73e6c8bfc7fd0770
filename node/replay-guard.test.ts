// The replay guard (replay-guard.ts): a (session key, nonce) pair is used
// once, concurrently or after a restart; commits are durable, grouped into
// synced batches, and fail closed; lifecycle and input checks. Expiry and
// clock jumps are replay-guard-expiry.test.ts; refusals, partitions and sizing
// replay-guard-partitions.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, toHex } from '../protocol/internal.ts';
import { MAX_NONCE_BATCH, ReplayGuard } from './replay-guard.ts';
import { MemoryNonceStore } from '../test/support/nonce-store.ts';
import {
  KEY,
  LIVE,
  OWNER,
  T0,
  guardOn,
  onCleanup,
  openStore,
  pair,
  suite,
  useReplayCleanups,
} from '../test/support/replay-fixture.ts';
import { NodeStore } from './store/index.ts';

useReplayCleanups();

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
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
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
