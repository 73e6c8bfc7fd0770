import { expect, it } from 'vitest';
import { DomainTag, tagBytes } from './domain-tags.ts';

it('every domain tag is distinct, NUL-terminated ASCII, and no tag is a prefix of another', () => {
  const tags = Object.values(DomainTag).map((t) => tagBytes(t));
  expect(new Set(Object.values(DomainTag)).size).toBe(tags.length);
  for (const t of tags) {
    expect(t.at(-1)).toBe(0);
    expect(t.subarray(0, -1).every((b) => b >= 0x20 && b < 0x7f)).toBe(true);
  }
  for (const a of tags) {
    for (const b of tags) {
      if (a === b) continue;
      const isPrefix = a.length <= b.length && a.every((x, i) => b[i] === x);
      expect(isPrefix).toBe(false);
    }
  }
});

it('tagBytes hands out copies: mutating one does not change the tag', () => {
  const a = tagBytes(DomainTag.HYBRID_SIGNATURE);
  a[0] = 0;
  expect(tagBytes(DomainTag.HYBRID_SIGNATURE)[0]).toBe('q'.charCodeAt(0));
});
