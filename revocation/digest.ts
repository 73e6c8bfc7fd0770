// The anti-entropy digest of a set of record ids: a two-level prefix tree of
// XORs and counts. Each id (a SHA-256 output) is XORed into the root, into
// its first byte's bucket and into its first two bytes' bucket. Two nodes
// compare the root (36 bytes); where they differ, the 256 buckets under it
// (9 KiB); where those differ, the 256 under each; and under a differing
// two-byte prefix they swap the ids themselves (about 16 at a million
// records). So a sync of equal sets costs one small round trip, and a
// difference of d records costs O(d) small messages, never the set.
//
// XOR with a count is a set hash only because ids are collision-resistant
// hashes of admin-signed bodies that nobody can choose freely; each id is
// added once (the caller guarantees it).
import { DIGEST_CHILDREN_BYTES, ID_BYTES } from '../protocol/internal.ts';

export interface DigestSummary {
  readonly count: number;
  readonly xor: Uint8Array;
}

const FANOUT = 256;
const ENTRY = 4 + ID_BYTES;

export class IdDigest {
  #count = 0;
  readonly #xor = new Uint8Array(ID_BYTES);
  readonly #counts1 = new Uint32Array(FANOUT);
  readonly #xor1 = new Uint8Array(FANOUT * ID_BYTES);
  readonly #counts2 = new Uint32Array(FANOUT * FANOUT);
  readonly #xor2 = new Uint8Array(FANOUT * FANOUT * ID_BYTES);

  get count(): number {
    return this.#count;
  }

  /** Adds an id that is not in the digest yet. */
  add(id: Uint8Array): void {
    if (id.length !== ID_BYTES) throw new RangeError(`IdDigest: an id is ${ID_BYTES} bytes`);
    const b1 = id[0] ?? 0;
    const b2 = (b1 << 8) | (id[1] ?? 0);
    this.#count += 1;
    this.#counts1[b1] = (this.#counts1[b1] ?? 0) + 1;
    this.#counts2[b2] = (this.#counts2[b2] ?? 0) + 1;
    for (let i = 0; i < ID_BYTES; i++) {
      const x = id[i] ?? 0;
      this.#xor[i] = (this.#xor[i] ?? 0) ^ x;
      this.#xor1[b1 * ID_BYTES + i] = (this.#xor1[b1 * ID_BYTES + i] ?? 0) ^ x;
      this.#xor2[b2 * ID_BYTES + i] = (this.#xor2[b2 * ID_BYTES + i] ?? 0) ^ x;
    }
  }

  /** Count and XOR of the ids under `prefix` (0, 1 or 2 bytes). */
  summary(prefix: Uint8Array): DigestSummary {
    switch (prefix.length) {
      case 0:
        return { count: this.#count, xor: this.#xor.slice() };
      case 1: {
        const b = prefix[0] ?? 0;
        return {
          count: this.#counts1[b] ?? 0,
          xor: this.#xor1.slice(b * ID_BYTES, (b + 1) * ID_BYTES),
        };
      }
      case 2: {
        const b = ((prefix[0] ?? 0) << 8) | (prefix[1] ?? 0);
        return {
          count: this.#counts2[b] ?? 0,
          xor: this.#xor2.slice(b * ID_BYTES, (b + 1) * ID_BYTES),
        };
      }
      default:
        throw new RangeError('IdDigest: a prefix is 0, 1 or 2 bytes');
    }
  }

  /** The 256 children of a 0- or 1-byte prefix, packed: count (u32 BE) || xor, each. */
  children(prefix: Uint8Array): Uint8Array {
    if (prefix.length > 1) throw new RangeError('IdDigest: children of a 0- or 1-byte prefix');
    const out = new Uint8Array(DIGEST_CHILDREN_BYTES);
    const view = new DataView(out.buffer);
    for (let c = 0; c < FANOUT; c++) {
      const child = prefix.length === 0 ? Uint8Array.of(c) : Uint8Array.of(prefix[0] ?? 0, c);
      const { count, xor } = this.summary(child);
      view.setUint32(c * ENTRY, count);
      out.set(xor, c * ENTRY + 4);
    }
    return out;
  }
}

/** The child bytes (0-255) at which two packed children lists differ. */
export function differingChildren(mine: Uint8Array, theirs: Uint8Array): number[] {
  const out: number[] = [];
  for (let c = 0; c < FANOUT; c++) {
    for (let i = c * ENTRY; i < (c + 1) * ENTRY; i++) {
      if (mine[i] !== theirs[i]) {
        out.push(c);
        break;
      }
    }
  }
  return out;
}

export function sameSummary(a: DigestSummary, b: DigestSummary): boolean {
  return a.count === b.count && a.xor.every((x, i) => x === b.xor[i]);
}
