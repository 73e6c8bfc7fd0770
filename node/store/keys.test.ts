import { describe, expect, it } from 'vitest';
import {
  KeyPrefix,
  MetaName,
  STORE_LENGTHS,
  contentKey,
  kindOfKey,
  kindRange,
  metaKey,
  nonceKey,
  type RecordKind,
} from './keys.ts';

const KINDS = Object.keys(KeyPrefix) as RecordKind[];

function prefixBytes(kind: RecordKind): Uint8Array {
  return Uint8Array.of(KeyPrefix[kind]);
}

function startsWith(a: Uint8Array, b: Uint8Array): boolean {
  return b.length <= a.length && b.every((x, i) => x === a[i]);
}

function within(key: Uint8Array, range: { gte: Uint8Array; lt: Uint8Array }): boolean {
  return Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0;
}

describe('the key prefix table', () => {
  it('holds every kind the design names, the reserved ones included', () => {
    expect(KINDS.sort()).toEqual(['audit', 'content', 'meta', 'nonce', 'pending', 'revocation']);
  });

  it('reuses no prefix', () => {
    const values = KINDS.map((k) => KeyPrefix[k]);
    expect(new Set(values).size).toBe(values.length);
  });

  it('has no prefix that is a prefix of another', () => {
    for (const a of KINDS) {
      for (const b of KINDS) {
        if (a !== b) expect(startsWith(prefixBytes(a), prefixBytes(b))).toBe(false);
      }
    }
  });

  it('uses single bytes, so each kind owns the range [prefix, prefix + 1)', () => {
    for (const kind of KINDS) {
      const p = KeyPrefix[kind];
      expect(Number.isInteger(p) && p >= 0 && p < 0xff).toBe(true);
    }
  });

  it("puts each kind's keys in its own range and in no other", () => {
    const samples: Record<'content' | 'nonce' | 'meta', Uint8Array> = {
      content: contentKey(new Uint8Array(32).fill(0xff)),
      nonce: nonceKey(new Uint8Array(32).fill(0xff), new Uint8Array(16).fill(0xff)),
      meta: metaKey(MetaName.run),
    };
    for (const [kind, key] of Object.entries(samples)) {
      for (const other of KINDS) expect(within(key, kindRange(other))).toBe(other === kind);
      expect(kindOfKey(key)).toBe(kind);
    }
    expect(kindOfKey(Uint8Array.of(0x00))).toBeUndefined();
    expect(kindOfKey(new Uint8Array(0))).toBeUndefined();
  });

  it('lays keys out as prefix || fixed-length fields', () => {
    const id = new Uint8Array(32).fill(7);
    expect(contentKey(id)).toEqual(Uint8Array.of(KeyPrefix.content, ...id));
    const session = new Uint8Array(32).fill(1);
    const n = new Uint8Array(16).fill(2);
    const key = nonceKey(session, n);
    expect(key.length).toBe(1 + STORE_LENGTHS.sessionKey + STORE_LENGTHS.nonce);
    expect(key).toEqual(Uint8Array.of(KeyPrefix.nonce, ...session, ...n));
    expect(metaKey(MetaName.run)).toEqual(Uint8Array.of(KeyPrefix.meta, 0x72, 0x75, 0x6e));
  });
});
