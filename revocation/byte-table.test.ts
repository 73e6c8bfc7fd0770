// ByteTable against a Map<string> model: every key set is found, every key
// not set is absent, through any number of growths; keys of another length
// are never members and are refused by set; a values table keeps the last
// value set; memory grows with the table, never shrinks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../protocol/index.ts';
import { ByteTable } from './byte-table.ts';

const KEY_BYTES = 20;

describe('ByteTable', () => {
  it('agrees with a Map model on thousands of random keys (property)', () => {
    const op = fc.tuple(
      fc.boolean(), // true: set, false: only look up
      // Mostly fresh keys, some from a small pool so keys repeat.
      fc.oneof(
        fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }),
        fc.nat(63).map((i) => new Uint8Array(KEY_BYTES).fill(i)),
      ),
      fc.integer({ min: -1e6, max: 1e6 }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1000, maxLength: 3000 }), fc.nat(), (ops, seed) => {
        const table = new ByteTable(KEY_BYTES, { values: true, seed });
        const model = new Map<string, number>();
        for (const [write, key, value] of ops) {
          const hex = toHex(key);
          if (write) {
            expect(table.set(key, value)).toBe(!model.has(hex));
            model.set(hex, value);
          }
          expect(table.has(key)).toBe(model.has(hex));
          expect(table.get(key)).toBe(model.get(hex));
        }
        expect(table.size).toBe(model.size);
        for (const [write, key] of ops) if (write) expect(table.has(key)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('keeps every key through many growths, and finds no key it was not given', () => {
    const table = new ByteTable(32, { seed: 7 });
    const keys = Array.from({ length: 20_000 }, () => crypto.getRandomValues(new Uint8Array(32)));
    for (const key of keys) expect(table.set(key)).toBe(true);
    expect(table.size).toBe(keys.length);
    expect(keys.every((key) => table.has(key))).toBe(true);
    // Setting again adds nothing.
    expect(keys.slice(0, 100).some((key) => table.set(key))).toBe(false);
    expect(table.size).toBe(keys.length);
    const strangers = Array.from({ length: 5_000 }, () =>
      crypto.getRandomValues(new Uint8Array(32)),
    );
    expect(strangers.filter((key) => table.has(key))).toEqual([]);
  });

  it('keys that differ in one byte, or share a prefix, are distinct members', () => {
    const table = new ByteTable(8, { seed: 1 });
    const base = new Uint8Array(8);
    table.set(base);
    for (let i = 0; i < 8; i++) {
      const near = base.slice();
      near[i] = 1;
      expect(table.has(near)).toBe(false);
      expect(table.set(near)).toBe(true);
    }
    expect(table.size).toBe(9);
  });

  it('a key of another length is never a member, and set refuses it with RangeError', () => {
    const table = new ByteTable(KEY_BYTES);
    const key = new Uint8Array(KEY_BYTES).fill(5);
    table.set(key);
    for (const wrong of [new Uint8Array(0), key.subarray(0, 19), Uint8Array.of(...key, 0)]) {
      expect(table.has(wrong)).toBe(false);
      expect(table.get(wrong)).toBeUndefined();
      expect(() => table.set(wrong)).toThrow(RangeError);
    }
    expect(table.size).toBe(1);
  });

  it('refuses a key length that is not a positive integer', () => {
    for (const bytes of [0, -1, 1.5, Number.NaN])
      expect(() => new ByteTable(bytes)).toThrow(RangeError);
  });

  it('a values table replaces a value on a second set; a plain table has no values', () => {
    const values = new ByteTable(4, { values: true });
    const key = Uint8Array.of(1, 2, 3, 4);
    expect(values.set(key, 10)).toBe(true);
    expect(values.get(key)).toBe(10);
    expect(values.set(key, 3)).toBe(false);
    expect(values.get(key)).toBe(3);
    expect(values.size).toBe(1);
    expect(values.get(Uint8Array.of(4, 3, 2, 1))).toBeUndefined();

    const plain = new ByteTable(4);
    plain.set(key, 10);
    expect(plain.has(key)).toBe(true);
    expect(plain.get(key)).toBeUndefined();
  });

  it('values survive growth with their keys', () => {
    const table = new ByteTable(4, { values: true, seed: 3 });
    const key = (i: number): Uint8Array => Uint8Array.of(i >>> 24, i >>> 16, i >>> 8, i);
    for (let i = 0; i < 5_000; i++) table.set(key(i), i * 1.5);
    for (let i = 0; i < 5_000; i++) expect(table.get(key(i))).toBe(i * 1.5);
  });

  it('memoryBytes grows with the number of keys and stays within a small factor of the key bytes', () => {
    const table = new ByteTable(20, { seed: 11 });
    const empty = table.memoryBytes;
    let last = empty;
    for (let i = 0; i < 10_000; i++) {
      table.set(crypto.getRandomValues(new Uint8Array(20)));
      expect(table.memoryBytes).toBeGreaterThanOrEqual(last);
      last = table.memoryBytes;
    }
    expect(last).toBeGreaterThan(empty);
    // At most 3/4 full and at least 1/4 after a doubling: (20 + 4) bytes a slot, <= 4 slots a key.
    expect(last).toBeLessThanOrEqual(10_000 * 24 * 4);
    expect(last).toBeGreaterThanOrEqual(10_000 * 24);
  });
});
