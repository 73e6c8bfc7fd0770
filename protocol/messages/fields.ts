// Field codecs more than one message file shares (docs/protocol.md §8): a
// sealed share, a list of protocol versions, a boolean, and a list of
// revocation records as opaque bytes (revocation/record.ts parses them).
import type { CborValue } from '../codec/cbor.ts';
import { malformed, readArray, readBytes, readUint, type CborMap } from '../codec/read.ts';
import { MAX_REVOCATION_BYTES } from '../constants.ts';
import { SHARE_BYTES } from '../sharing.ts';
import type { Sealed } from '../seal.ts';
import { XWING_LENGTHS } from '../suite/types.ts';

/** A sealed share (64 bytes: two scalars, decision 0016) plus the 16-byte AES-GCM tag. */
const SEALED_SHARE_BYTES = SHARE_BYTES + 16;
/** Records one anti-entropy or listing message may carry (also bounded by the frame cap). */
export const MAX_REVSYNC_RECORDS = 1024;
/** Versions a node may list in a reply: it speaks a handful at most. */
const MAX_VERSIONS = 16;

export function sealedToCbor(s: Sealed): Record<string, CborValue> {
  return { enc: s.enc, ct: s.ciphertext };
}

/** The `enc` and `ct` fields of a share or publish message. */
export function readSealed(m: CborMap): Sealed {
  return {
    enc: readBytes(m['enc'], 'enc', XWING_LENGTHS.cipherText),
    ciphertext: readBytes(m['ct'], 'ct', SEALED_SHARE_BYTES),
  };
}

export function readVersions(value: unknown, field: string): readonly number[] {
  return readArray(value, field, MAX_VERSIONS, 1).map((v, i) =>
    readUint(v, `${field}[${i}]`, 0, 0xffff),
  );
}

export function readBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw malformed(field, 'a boolean');
  return value;
}

/** At most MAX_REVSYNC_RECORDS records of at most MAX_REVOCATION_BYTES each. */
export function readRecords(value: unknown, field: string): readonly Uint8Array[] {
  return readArray(value, field, MAX_REVSYNC_RECORDS).map((r, i) =>
    readBytes(r, `${field}[${i}]`, undefined, MAX_REVOCATION_BYTES),
  );
}
