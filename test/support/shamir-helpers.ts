// Helpers for shamir/'s unit tests: a deterministic byte source and small
// combinatorics. Imports nothing.

/** A deterministic byte source: a fresh array per call, bytes from a full-period LCG over 0..255. */
export function countingRandom(seed = 0): (length: number) => Uint8Array {
  let state = seed;
  return (length) =>
    Uint8Array.from({ length }, () => {
      state = (state * 165 + 13) & 0xff;
      return state;
    });
}

/** Every k-element subset of items, in lexicographic order of positions. */
export function subsetsOf<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    for (const rest of subsetsOf(items.slice(i + 1), k - 1)) out.push([item, ...rest]);
  });
  return out;
}

/** items[i], which must exist (noUncheckedIndexedAccess without `!`). */
export function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new RangeError(`test helper: no item at ${i} of ${items.length}`);
  return item;
}

/** 0, 1, ..., n - 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
