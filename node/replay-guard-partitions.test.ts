// The replay guard's refusals and partitions (issue 12, item 3): a refused
// request gives its pair back, one wallet or one source holds at most its
// share, and the guard and its shares are sized from the node set's
// parameters and the rate limits (replay-limits.ts).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/internal.ts';
import { DEFAULT_MAX_REPLAY_ENTRIES, replayGuardLimits } from './replay-guard.ts';
import { MemoryNonceStore } from '../test/support/nonce-store.ts';
import {
  LIVE,
  OWNER,
  T0,
  guardOn,
  pair,
  suite,
  useReplayCleanups,
} from '../test/support/replay-fixture.ts';

useReplayCleanups();

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
