// IdDigest: every level is consistent with the one above (children XOR to
// their parent, counts sum to it) and with the ids themselves; equal sets
// have equal digests whatever the order of adding; differingChildren names
// exactly the buckets where two sets differ.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIGEST_CHILDREN_BYTES, ID_BYTES, toHex } from '../protocol/internal.ts';
import { IdDigest, differingChildren, sameSummary, type DigestSummary } from './digest.ts';

const randomId = (): Uint8Array => crypto.getRandomValues(new Uint8Array(ID_BYTES));

/** An id starting with `prefix`, the rest random. */
function idUnder(...prefix: number[]): Uint8Array {
  const id = randomId();
  id.set(prefix);
  return id;
}

/** The summary of `ids` under `prefix`, computed directly. */
function model(ids: readonly Uint8Array[], prefix: Uint8Array): DigestSummary {
  const xor = new Uint8Array(ID_BYTES);
  let count = 0;
  for (const id of ids) {
    if (!prefix.every((b, i) => id[i] === b)) continue;
    count += 1;
    for (let i = 0; i < ID_BYTES; i++) xor[i] = (xor[i] ?? 0) ^ (id[i] ?? 0);
  }
  return { count, xor };
}

/** The 256 children packed in `children`, unpacked. */
function unpack(children: Uint8Array): DigestSummary[] {
  const view = new DataView(children.buffer, children.byteOffset, children.byteLength);
  return Array.from({ length: 256 }, (_, c) => ({
    count: view.getUint32(c * (4 + ID_BYTES)),
    xor: children.slice(c * (4 + ID_BYTES) + 4, (c + 1) * (4 + ID_BYTES)),
  }));
}

function xorAll(summaries: readonly DigestSummary[]): DigestSummary {
  const xor = new Uint8Array(ID_BYTES);
  let count = 0;
  for (const s of summaries) {
    count += s.count;
    for (let i = 0; i < ID_BYTES; i++) xor[i] = (xor[i] ?? 0) ^ (s.xor[i] ?? 0);
  }
  return { count, xor };
}

function digestOf(ids: readonly Uint8Array[]): IdDigest {
  const digest = new IdDigest();
  for (const id of ids) digest.add(id);
  return digest;
}

describe('IdDigest', () => {
  it('an empty digest is zero everywhere', () => {
    const digest = new IdDigest();
    expect(digest.count).toBe(0);
    expect(sameSummary(digest.summary(new Uint8Array(0)), model([], new Uint8Array(0)))).toBe(true);
    expect(digest.children(new Uint8Array(0))).toEqual(new Uint8Array(DIGEST_CHILDREN_BYTES));
  });

  it('children of the root XOR together to the root, and their counts sum to it', () => {
    // Clustered ids, so some buckets hold several and most hold none.
    const ids = [
      ...Array.from({ length: 300 }, () => randomId()),
      ...Array.from({ length: 40 }, () => idUnder(0x00)),
      ...Array.from({ length: 40 }, () => idUnder(0xff, 0xff)),
    ];
    const digest = digestOf(ids);
    const root = digest.summary(new Uint8Array(0));
    const children = unpack(digest.children(new Uint8Array(0)));
    expect(sameSummary(xorAll(children), root)).toBe(true);
    expect(root.count).toBe(ids.length);
    expect(digest.count).toBe(ids.length);
    // Each child is its one-byte summary, and the children of each child sum to it.
    for (let c = 0; c < 256; c++) {
      const one = digest.summary(Uint8Array.of(c));
      expect(sameSummary(children[c]!, one)).toBe(true);
      expect(sameSummary(one, model(ids, Uint8Array.of(c)))).toBe(true);
      const grand = unpack(digest.children(Uint8Array.of(c)));
      expect(sameSummary(xorAll(grand), one)).toBe(true);
    }
    for (const prefix of [Uint8Array.of(0xff, 0xff), Uint8Array.of(0x00, 0x00)])
      expect(sameSummary(digest.summary(prefix), model(ids, prefix))).toBe(true);
  });

  it('agrees with the ids at every prefix, whatever order they were added in (property)', () => {
    const idArb = fc.uint8Array({ minLength: ID_BYTES, maxLength: ID_BYTES });
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { selector: (id) => toHex(id), maxLength: 200 }),
        fc.uint8Array({ minLength: 0, maxLength: 2 }),
        (ids, prefix) => {
          const forward = digestOf(ids);
          const backward = digestOf([...ids].reverse());
          expect(sameSummary(forward.summary(prefix), model(ids, prefix))).toBe(true);
          expect(sameSummary(forward.summary(prefix), backward.summary(prefix))).toBe(true);
          if (prefix.length < 2)
            expect(toHex(forward.children(prefix))).toBe(toHex(backward.children(prefix)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('differingChildren names exactly the buckets where two sets differ', () => {
    const shared = Array.from({ length: 500 }, () => randomId());
    const extra = [idUnder(0x10, 0x01), idUnder(0x10, 0x02), idUnder(0xab, 0xcd)];
    const a = digestOf(shared);
    const b = digestOf([...shared, ...extra]);
    const root = new Uint8Array(0);
    expect(sameSummary(a.summary(root), b.summary(root))).toBe(false);
    expect(differingChildren(a.children(root), b.children(root))).toEqual([0x10, 0xab]);
    expect(
      differingChildren(a.children(Uint8Array.of(0x10)), b.children(Uint8Array.of(0x10))),
    ).toEqual([0x01, 0x02]);
    expect(differingChildren(a.children(root), a.children(root))).toEqual([]);
  });

  it('a count difference alone is a difference (XOR of an even repeat would hide it)', () => {
    const x = idUnder(0x33);
    const y = idUnder(0x33);
    const z = new Uint8Array(ID_BYTES);
    for (let i = 0; i < ID_BYTES; i++) z[i] = (x[i] ?? 0) ^ (y[i] ?? 0);
    // {x, y, z} XORs to zero, like the empty set, but holds three ids.
    const three = digestOf([x, y, z]);
    const none = new IdDigest();
    expect(toHex(three.summary(new Uint8Array(0)).xor)).toBe(toHex(new Uint8Array(ID_BYTES)));
    expect(sameSummary(three.summary(new Uint8Array(0)), none.summary(new Uint8Array(0)))).toBe(
      false,
    );
  });

  it('refuses ids that are not 32 bytes and prefixes longer than the tree', () => {
    const digest = new IdDigest();
    expect(() => digest.add(new Uint8Array(31))).toThrow(RangeError);
    expect(() => digest.add(new Uint8Array(33))).toThrow(RangeError);
    expect(digest.count).toBe(0);
    expect(() => digest.summary(new Uint8Array(3))).toThrow(RangeError);
    expect(() => digest.children(new Uint8Array(2))).toThrow(RangeError);
  });
});
