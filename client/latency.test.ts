// The latency tracker that orders nodes: EWMA arithmetic, cancelled nodes
// scored behind those that answered, aging so no node is left out for good,
// and the order — unmeasured first, then fastest, ties shuffled by the given
// randomness.
import { describe, expect, it } from 'vitest';
import { CANCELLED_PENALTY, LATENCY_EWMA_ALPHA, LatencyTracker } from './latency.ts';

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

  it('a cancelled node is scored at CANCELLED_PENALTY times its elapsed time, and never lowered', () => {
    const l = new LatencyTracker();
    l.observeCancelled(1, 25);
    expect(l.estimate(1)).toBe(25 * CANCELLED_PENALTY);
    l.observeCancelled(1, 5);
    expect(l.estimate(1)).toBe(25 * CANCELLED_PENALTY);
    l.observeCancelled(1, 75);
    expect(l.estimate(1)).toBeCloseTo(50 + LATENCY_EWMA_ALPHA * 100);
  });

  it('a slow node cancelled every time ranks behind the nodes that answered', () => {
    const l = new LatencyTracker();
    for (let round = 0; round < 20; round++) {
      const asked = l.order([1, 2, 3, 4, 5], counter(round)).slice(0, 4);
      // Nodes 1-4 answer in 10 ms; node 5 never answers before the others finish.
      for (const index of asked)
        if (index === 5) l.observeCancelled(5, 10);
        else l.observe(index, 10);
    }
    const next = l.order([1, 2, 3, 4, 5], counter(99));
    expect(next.at(-1)).toBe(5);
  });

  it('a node left out is tried again after enough rounds (aging), so one bad sample does not exile it', () => {
    const l = new LatencyTracker();
    for (const index of [1, 2, 3, 4]) l.observe(index, 10);
    l.observe(5, 40); // one slow first sample, e.g. a cold connection
    let rounds = 0;
    while (!l.order([1, 2, 3, 4, 5], counter(rounds)).slice(0, 4).includes(5)) {
      for (const index of [1, 2, 3, 4]) l.observe(index, 10);
      rounds += 1;
      if (rounds > 200) break;
    }
    expect(rounds).toBeGreaterThan(10);
    expect(rounds).toBeLessThan(100);
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
