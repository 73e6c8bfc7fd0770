// The replay guard forgets a pair only once it has expired, by both clocks:
// sweeps in memory and on disk, and wall-clock jumps that never reopen the
// replay window (issue 13, item 5): the clock mark, and NOT_READY while the
// clock reads less.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  ErrorCode,
  checkRequestFreshness,
  toHex,
  type RecoverRequestBody,
} from '../protocol/internal.ts';
import { ReplayGuard } from './replay-guard.ts';
import { MemoryNonceStore } from '../test/support/nonce-store.ts';
import {
  LIVE,
  OWNER,
  T0,
  guardOn,
  onCleanup,
  openStore,
  pair,
  useReplayCleanups,
} from '../test/support/replay-fixture.ts';

useReplayCleanups();

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
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
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
