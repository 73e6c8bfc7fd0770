// Authenticated encryption of every value the node stores (DESIGN.md,
// Storage: LevelDB does not detect a flipped bit, so we must). AES-256-GCM
// (NIST SP 800-38D) under a key derived from the node's storage key with
// HKDF-SHA256 (RFC 5869), a fresh random 96-bit nonce per write, and the
// record's key as associated data. Stored layout:
//
//   version (1) || nonce (12) || ciphertext || tag (16)
//   aad = version || record key
//
// Random 96-bit nonces keep the GCM collision bound (SP 800-38D §8.3) only
// for up to 2^32 sealed values per storage key; a node sealing 100 values a
// second reaches that after about 1.4 years. Storage key rotation
// (re-encrypting the database) is the remedy; the version byte leaves room for
// a per-value derived key later.
import {
  AES_GCM_LENGTHS,
  ErrorCode,
  QkmsError,
  concatBytes,
  utf8,
  wipe,
  type CryptoSuite,
} from '../../protocol/index.ts';
import { kindOfKey } from './keys.ts';

/** The only value format so far. */
export const VALUE_FORMAT_VERSION = 1;
/** HKDF `info` of the value key: names its purpose, so the storage key derives nothing else by accident. */
const VALUE_KEY_INFO = utf8('qkms/v1/node-store/value-aead');
/** The node's storage key: 256 bits (keystore). */
export const STORAGE_KEY_BYTES = 32;
/** Smallest well-formed stored value: version, nonce and tag around an empty plaintext. */
const MIN_SEALED_BYTES = 1 + AES_GCM_LENGTHS.nonce + AES_GCM_LENGTHS.tag;

function corrupt(key: Uint8Array, what: string, cause?: unknown): QkmsError {
  const kind = kindOfKey(key) ?? 'unknown';
  return new QkmsError(ErrorCode.STORE_CORRUPT, `node store: ${kind} record ${what}`, { cause });
}

/** Seals and opens stored values; holds the derived key until wiped. */
export class RecordCipher {
  readonly #suite: CryptoSuite;
  #key: Uint8Array | undefined;

  constructor(storageKey: Uint8Array, suite: CryptoSuite) {
    if (!(storageKey instanceof Uint8Array) || storageKey.length !== STORAGE_KEY_BYTES) {
      throw new QkmsError(
        ErrorCode.INVALID_LENGTH,
        `storageKey: expected ${STORAGE_KEY_BYTES} bytes, got ${storageKey instanceof Uint8Array ? String(storageKey.length) : typeof storageKey}`,
      );
    }
    this.#suite = suite;
    this.#key = suite.hkdfSha256(storageKey, new Uint8Array(0), VALUE_KEY_INFO, 32);
  }

  #liveKey(): Uint8Array {
    if (this.#key === undefined)
      throw new QkmsError(ErrorCode.BUSY, 'node store: the record cipher is wiped (store closed)');
    return this.#key;
  }

  /** The stored form of `plaintext` under `key`. */
  seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const version = Uint8Array.of(VALUE_FORMAT_VERSION);
    const nonce = this.#suite.randomBytes(AES_GCM_LENGTHS.nonce);
    const sealed = this.#suite.aes256gcm.encrypt(
      this.#liveKey(),
      nonce,
      plaintext,
      concatBytes(version, key),
    );
    return concatBytes(version, nonce, sealed);
  }

  /**
   * The plaintext stored under `key`. Throws QkmsError STORE_CORRUPT (naming
   * the record kind, never content) when the value is malformed or fails
   * authentication: such a value is never returned.
   */
  open(key: Uint8Array, stored: Uint8Array): Uint8Array {
    const liveKey = this.#liveKey();
    if (stored.length < MIN_SEALED_BYTES) throw corrupt(key, 'is truncated');
    const version = stored[0];
    if (version !== VALUE_FORMAT_VERSION) throw corrupt(key, 'has an unknown value format');
    const nonce = stored.subarray(1, 1 + AES_GCM_LENGTHS.nonce);
    const sealed = stored.subarray(1 + AES_GCM_LENGTHS.nonce);
    try {
      return this.#suite.aes256gcm.decrypt(
        liveKey,
        nonce,
        sealed,
        concatBytes(stored.subarray(0, 1), key),
      );
    } catch (e) {
      throw corrupt(key, 'failed authentication', e);
    }
  }

  /** Overwrites the derived key; seal and open throw afterwards. Idempotent. */
  wipe(): void {
    wipe(this.#key);
    this.#key = undefined;
  }
}
