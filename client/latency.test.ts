// The latency tracker that orders nodes: EWMA arithmetic, lower-bound
// samples, and the order — unmeasured first, then fastest, ties shuffled by
// the given randomness.
import { describe, expect, it } from 'vitest';
import { LATENCY_EWMA_ALPHA, LatencyTracker } from './latency.ts';

function counter(seed: number): (length: number) => Uint8Array {
  let state = seed;
  return (length) =>
    Uint8Array.from({ length }, () => {
      state = (state * 165 + 13) & 0xff;
      return state;
    });
}

describe('LatencyTracker', () => {
  it('starts at the first sample and moves by alpha towards each next one', () => {
    const l = new LatencyTracker();
    expect(l.estimate(1)).toBeUndefined();
    l.observe(1, 100);
    expect(l.estimate(1)).toBe(100);
    l.observe(1, 200);
    expect(l.estimate(1)).toBeCloseTo(100 + LATENCY_EWMA_ALPHA * 100);
  });

  it('observeAtLeast only ever raises an estimate', () => {
    const l = new LatencyTracker();
    l.observeAtLeast(1, 50);
    expect(l.estimate(1)).toBe(50);
    l.observeAtLeast(1, 10);
    expect(l.estimate(1)).toBe(50);
    l.observeAtLeast(1, 150);
    expect(l.estimate(1)).toBeCloseTo(50 + LATENCY_EWMA_ALPHA * 100);
  });

  it('orders unmeasured nodes first, then by estimate ascending', () => {
    const l = new LatencyTracker();
    l.observe(1, 30);
    l.observe(2, 10);
    l.observe(4, 20);
    const order = l.order([1, 2, 3, 4, 5], counter(1));
    expect(new Set(order.slice(0, 2))).toEqual(new Set([3, 5]));
    expect(order.slice(2)).toEqual([2, 4, 1]);
  });

  it('shuffles ties: every node comes first for some randomness, and the input is not changed', () => {
    const l = new LatencyTracker();
    const input = [1, 2, 3, 4, 5];
    const firsts = new Set<number>();
    for (let seed = 0; seed < 64; seed++) firsts.add(l.order(input, counter(seed))[0] ?? 0);
    expect(firsts).toEqual(new Set(input));
    expect(input).toEqual([1, 2, 3, 4, 5]);
  });
});
