import { describe, expect, it } from 'vitest';
import { InflightLimiter, TokenBuckets } from './admission.ts';

describe('InflightLimiter', () => {
  it('admits up to max at once, refuses the next at once, and frees a slot on release (once)', () => {
    const limiter = new InflightLimiter(2);
    const a = limiter.tryAcquire();
    const b = limiter.tryAcquire();
    expect(a).toBeTypeOf('function');
    expect(b).toBeTypeOf('function');
    expect(limiter.tryAcquire()).toBeUndefined();
    a?.();
    a?.();
    expect(limiter.inflight).toBe(1);
    expect(limiter.tryAcquire()).toBeTypeOf('function');
    expect(limiter.tryAcquire()).toBeUndefined();
  });
});

describe('TokenBuckets', () => {
  it('allows a burst, then the rate, per key independently', () => {
    let now = 0;
    const buckets = new TokenBuckets(
      { ratePerSecond: 2, burst: 3 },
      { maxKeys: 10, clock: () => now },
    );
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false]);
    expect(buckets.take('b')).toBe(true);
    now += 500; // one token back for 'a'
    expect(buckets.take('a')).toBe(true);
    expect(buckets.take('a')).toBe(false);
    now += 10_000; // refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false]);
  });

  it('a wall clock stepped back neither drains nor refills a bucket (issue 13, item 5)', () => {
    let now = 600_000;
    const buckets = new TokenBuckets(
      { ratePerSecond: 2, burst: 3 },
      { maxKeys: 10, clock: () => now },
    );
    expect(buckets.take('a')).toBe(true);
    now = 0; // ten minutes back
    expect([1, 2, 3].map(() => buckets.take('a'))).toEqual([true, true, false]);
    now += 500;
    expect(buckets.take('a')).toBe(true);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    const buckets = new TokenBuckets(
      { ratePerSecond: 1, burst: 1 },
      { maxKeys: 2, clock: () => 0 },
    );
    buckets.take('a');
    buckets.take('b');
    buckets.take('c');
    expect(buckets.size).toBe(2);
    expect(buckets.take('a')).toBe(true); // 'a' was forgotten: a fresh bucket
    expect(buckets.take('c')).toBe(false); // 'c' is remembered and empty
  });
});
