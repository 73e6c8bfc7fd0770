// Every domain-separation tag of qkms, in one place. Every hash and every
// signature input starts with one of these, so bytes signed or hashed for one
// purpose can never be taken for another. A tag is ASCII ending in a NUL byte,
// so no tag is a prefix of another (checked by domain-tags.test.ts).

export const DomainTag = {
  /** Hybrid admin signature: both halves sign this tag then the message. */
  HYBRID_SIGNATURE: 'qkms/v1/hybrid-signature',
  /** nodeSetId = SHA-256(tag || canonical CBOR of the node-set document). */
  NODE_SET_ID: 'qkms/v1/node-set-id',
  /** Admin signature over a node set: tag || nodeSetId. */
  NODE_SET_SIGNATURE: 'qkms/v1/node-set-signature',
  /** delegationHash = SHA-256(tag || UTF-8 bytes of the SIWE message). */
  DELEGATION_HASH: 'qkms/v1/delegation',
  /** Session signature over a recover request: tag || canonical CBOR of the request. */
  RECOVER_REQUEST: 'qkms/v1/recover-request',
  /** HPKE `info` for a share a node seals to a recovering session. */
  RECOVER_SEAL_INFO: 'qkms/v1/recover-seal',
  /** HPKE `aad` prefix for a recover seal: tag || canonical CBOR of its binding. */
  RECOVER_SEAL_AAD: 'qkms/v1/recover-seal-aad',
  /** HPKE `info` for a share a publisher seals to a node. */
  PUBLISH_SEAL_INFO: 'qkms/v1/publish-seal',
  /** HPKE `aad` prefix for a publish seal. */
  PUBLISH_SEAL_AAD: 'qkms/v1/publish-seal-aad',
  /** Publisher's session signature over a manifest body. */
  MANIFEST_SIGNATURE: 'qkms/v1/manifest',
  /** manifestHash = SHA-256(tag || canonical CBOR of the signed manifest). */
  MANIFEST_HASH: 'qkms/v1/manifest-hash',
  /** Commitment to the CEK. */
  CEK_COMMITMENT: 'qkms/v1/cek-commitment',
  /** Commitment to one share. */
  SHARE_COMMITMENT: 'qkms/v1/share-commitment',
  /** Node signature over a publish receipt. */
  PUBLISH_RECEIPT: 'qkms/v1/publish-receipt',
  /** revocationId = SHA-256(tag || canonical CBOR of the revocation body). */
  REVOCATION_ID: 'qkms/v1/revocation-id',
  /** Admin signature over a revocation: tag || revocationId. */
  REVOCATION_SIGNATURE: 'qkms/v1/revocation-signature',
  /** Audit record hash = SHA-256(tag || canonical CBOR of the record body). */
  AUDIT_RECORD: 'qkms/v1/audit-record',
  /** Node signature over an audit record: tag || record hash. */
  AUDIT_SIGNATURE: 'qkms/v1/audit-signature',
  /** Node signature over its audit head statement: tag || canonical CBOR of the head body. */
  AUDIT_HEAD: 'qkms/v1/audit-head',
  /** Node signature over a sharing record's body (decision 0016): tag || canonical CBOR of the body. */
  SHARING_RECORD: 'qkms/v2/sharing-record',
  /** recordHash = SHA-256(tag || canonical CBOR of a sharing record): what a dealer vouches for. */
  SHARING_RECORD_HASH: 'qkms/v2/sharing-record-hash',
  /** HKDF `info` of the pad that wraps a CEK under its shared key scalar (decision 0016). */
  CEK_WRAP: 'qkms/v2/cek-wrap',
  /** One admin's signature authorising a handover between two node sets: tag || canonical CBOR of the ticket body. */
  RESHARE_TICKET: 'qkms/v2/reshare-ticket',
  /** An old node's signature over the public part of its dealing: tag || canonical CBOR of it. */
  RESHARE_DEALING: 'qkms/v2/reshare-dealing',
  /** HPKE `info` for the sub-shares an old node seals to one new node. */
  RESHARE_SEAL_INFO: 'qkms/v2/reshare-seal',
  /** HPKE `aad` prefix for a reshare seal: tag || canonical CBOR of its binding. */
  RESHARE_SEAL_AAD: 'qkms/v2/reshare-seal-aad',
  /** Each old admin's signature over a cutover record's body: tag || canonical CBOR of the body. */
  RESHARE_CUTOVER: 'qkms/v2/reshare-cutover',
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

/** SHA-256-style hash of tag || parts, with the hash function supplied (the CryptoSuite's). */
export function taggedHash(
  hash: (data: Uint8Array) => Uint8Array,
  tag: DomainTag,
  ...parts: readonly Uint8Array[]
): Uint8Array {
  const t = tagBytes(tag);
  let length = t.length;
  for (const p of parts) length += p.length;
  const input = new Uint8Array(length);
  input.set(t, 0);
  let offset = t.length;
  for (const p of parts) {
    input.set(p, offset);
    offset += p.length;
  }
  return hash(input);
}
