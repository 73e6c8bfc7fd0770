// overdueAfterMs: a multiple of the node's estimate, floored, and bounded by
// the attempt's deadline; a node never measured gets the bound.
import { describe, expect, it } from 'vitest';
import {
  OVERDUE_BOUND_OF_ATTEMPT,
  OVERDUE_FACTOR,
  OVERDUE_FLOOR_MS,
  overdueAfterMs,
} from './overdue.ts';

const ATTEMPT_MS = 5_000; // QuorumClient's default: half of the 10 s call deadline
const BOUND_MS = ATTEMPT_MS * OVERDUE_BOUND_OF_ATTEMPT;

describe('overdueAfterMs', () => {
  it.each([
    ['a node never measured: the bound', undefined, BOUND_MS],
    ['a fast node (2 ms): the floor, not 8 ms', 2, OVERDUE_FLOOR_MS],
    [
      'a node at the floor over the factor: the floor',
      OVERDUE_FLOOR_MS / OVERDUE_FACTOR,
      OVERDUE_FLOOR_MS,
    ],
    ['a slow node (150 ms): the factor times its estimate', 150, 150 * OVERDUE_FACTOR],
    ['a node penalised to the attempt deadline: the bound', ATTEMPT_MS, BOUND_MS],
    ['a non-finite estimate: the bound', Number.POSITIVE_INFINITY, BOUND_MS],
  ])('%s', (_, estimate, expected) => {
    expect(overdueAfterMs(estimate, ATTEMPT_MS)).toBe(expected);
  });

  it('is never later than the bound, even when the bound is below the floor', () => {
    expect(overdueAfterMs(1, 100)).toBe(100 * OVERDUE_BOUND_OF_ATTEMPT);
    for (const estimate of [undefined, 0, 1, 10, 100, 1_000, 100_000])
      expect(overdueAfterMs(estimate, ATTEMPT_MS)).toBeLessThanOrEqual(BOUND_MS);
  });

  it('never decreases as the estimate grows', () => {
    let previous = 0;
    for (let estimate = 0; estimate <= 2_000; estimate += 7) {
      const at = overdueAfterMs(estimate, ATTEMPT_MS);
      expect(at).toBeGreaterThanOrEqual(previous);
      previous = at;
    }
  });
});
