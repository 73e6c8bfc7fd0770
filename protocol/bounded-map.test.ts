import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.ts';

describe('BoundedMap', () => {
  it('never holds more than its bound, evicting the least recently used', () => {
    const m = new BoundedMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect(m.get('a')).toBe(1); // a is now the most recently used
    m.set('d', 4);
    expect(m.size).toBe(3);
    expect(m.has('b')).toBe(false);
    expect([m.get('a'), m.get('c'), m.get('d')]).toEqual([1, 3, 4]);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => new BoundedMap(bad)).toThrow(RangeError);
    }
  });

  it('replaces a value without growing and deletes on request', () => {
    const m = new BoundedMap<number, string>(2);
    m.set(1, 'x');
    m.set(1, 'y');
    expect(m.size).toBe(1);
    expect(m.get(1)).toBe('y');
    expect(m.delete(1)).toBe(true);
    expect(m.get(1)).toBeUndefined();
  });
});
