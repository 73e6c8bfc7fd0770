// Protocol constants both sides must agree on, each with its unit and reason.

/**
 * The protocol version this code speaks: carried by every message, request, manifest and
 * receipt, the structures whose format changes with the protocol (decision 0016).
 */
export const PROTOCOL_VERSION = 2;
/** Versions a node accepts; an unknown version is answered UNSUPPORTED_VERSION naming these. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];
/**
 * Format version of the records a node keeps for good: revocation records, audit records,
 * audit heads and witness files. Separate from PROTOCOL_VERSION so that a protocol change
 * never makes a stored revocation or an audit chain unreadable.
 */
export const RECORD_VERSION = 1;

/** Content ids, node-set ids, delegation hashes and commitments are SHA-256 sized. */
export const ID_BYTES = 32;
/** Request nonce: 128 bits, so a random nonce never repeats within a session. */
export const NONCE_BYTES = 16;
/** Ethereum address. */
export const ADDRESS_BYTES = 20;
/** A CEK is an AES-256 key. */
export const CEK_BYTES = 32;
/** Salt of the manifest's commitments. */
export const COMMITMENT_SALT_BYTES = 32;
/** secp256k1 r || s || v. */
export const WALLET_SIGNATURE_BYTES = 65;

/** Latest timestamp any message may carry: 9999-12-31T23:59:59.999Z, in ms (RFC 3339's range). */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** Nesting the protocol's messages never exceed; deeper CBOR is refused before decoding. */
export const MAX_CBOR_DEPTH = 16;
/** A SIWE delegation message: a few hundred bytes of text plus the ReCap; 4 KiB is generous. */
export const MAX_DELEGATION_MESSAGE_BYTES = 4096;
/** Statement, reason and other free text fields. */
export const MAX_TEXT_BYTES = 1024;
/** Addresses an allowlist policy may carry (keeps a manifest well under its frame cap). */
export const MAX_ALLOWLIST_ENTRIES = 256;
/** Nodes a node set may hold (Shamir over GF(2^8) allows 255). */
export const MAX_NODES = 255;

/**
 * One encoded revocation record: its body (a few hundred bytes; the reason is
 * at most 256) plus up to 16 hybrid admin signatures of 3,373 bytes each.
 */
export const MAX_REVOCATION_BYTES = 60 * 1024;

/** Frame caps per protocol, checked before decoding. Sized from the largest valid message. */
export const MAX_FRAME_BYTES = {
  /** Request (~1.4 KiB with its 1216-byte key) + delegation (<= 4 KiB): 16 KiB leaves room. */
  recover: 16 * 1024,
  /** Manifest (n commitments, allowlist <= 256 addresses) + sealed share: 64 KiB. */
  publish: 64 * 1024,
  /** Info request and answer are small. */
  info: 4 * 1024,
  /**
   * A revocation record with up to 16 hybrid admin signatures (~3.4 KiB each)
   * is ~55 KiB; a page of records listed back is capped at the same size.
   */
  revoke: 64 * 1024,
  /** Node-to-node anti-entropy: a digest level (9 KiB), an id list, or a batch of records. */
  revsync: 1024 * 1024,
  /**
   * A handover batch (decision 0016): up to 128 contents, each with its
   * manifest (<= 64 KiB) and a sealed sub-share per new node.
   */
  reshare: 16 * 1024 * 1024,
} as const;
