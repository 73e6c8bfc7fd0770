// Every domain-separation tag of qkms, in one place. Every hash and every
// signature input starts with one of these, so bytes signed or hashed for one
// purpose can never be taken for another. A tag is ASCII ending in a NUL byte,
// so no tag is a prefix of another (checked by domain-tags.test.ts).

export const DomainTag = {
  /** Hybrid admin signature: both halves sign this tag then the message. */
  HYBRID_SIGNATURE: 'qkms/v1/hybrid-signature',
  /** HPKE `info` for a share sealed to a recipient (publish and recover). */
  SHARE_SEAL_INFO: 'qkms/v1/share-seal',
} as const;
export type DomainTag = (typeof DomainTag)[keyof typeof DomainTag];

const encoder = new TextEncoder();
const cache = new Map<DomainTag, Uint8Array>();

/** The tag's bytes: its ASCII followed by 0x00. Returns a fresh copy. */
export function tagBytes(tag: DomainTag): Uint8Array {
  let bytes = cache.get(tag);
  if (bytes === undefined) {
    bytes = new Uint8Array([...encoder.encode(tag), 0]);
    cache.set(tag, bytes);
  }
  return bytes.slice();
}
