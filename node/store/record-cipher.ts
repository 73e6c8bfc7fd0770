// Authenticated encryption of every value the node stores (DESIGN.md,
// Storage: LevelDB does not detect a flipped bit, so we must). AES-256-GCM
// (NIST SP 800-38D) with the record's key as associated data, so a value moved
// under another key, or another kind, fails authentication.
//
// Version 2 (written): one AES key per value, so the GCM nonce bound never
// applies to a key that seals more than one value (decision 0009):
//
//   version (1) = 2 || salt (32) || nonce (12) || ciphertext || tag (16)
//   value key = HKDF-SHA256(prk2, salt = empty, info = VALUE_KEY_INFO_V2 || salt, 32)
//   aad = version || record key
//
// where prk2 = HKDF-SHA256(storage key, empty, 'qkms/v2/node-store/value-prk')
// (RFC 5869), kept while the store is open. The per-value key is an HMAC-SHA256
// PRF output on a fresh random 256-bit salt: two values share a key only if
// their salts collide (about n^2 / 2^257 for n values), and even then also
// need a nonce collision to reuse a (key, nonce) pair.
//
// Version 1 (read only, for databases written before): one key for every value,
//
//   version (1) = 1 || nonce (12) || ciphertext || tag (16)
//   key = HKDF-SHA256(storage key, empty, 'qkms/v1/node-store/value-aead', 32)
//
// Random 96-bit nonces under one key keep SP 800-38D's bound (§8.3) only up to
// 2^32 sealed values, and an attacker who can cause writes could push a node
// toward it; so nothing is sealed as version 1 any more. A version-1 value is
// rewritten as version 2 the next time its record is written. docs/crypto.md
// states the bound.
import {
  AES_GCM_LENGTHS,
  ErrorCode,
  QkmsError,
  concatBytes,
  utf8,
  wipe,
  type CryptoSuite,
} from '../../protocol/internal.ts';
import { kindOfKey } from './keys.ts';

/** The format every value is sealed in: a key per value (see the file comment). */
export const VALUE_FORMAT_VERSION = 2;
/** The format of databases written before decision 0009: opened, never sealed. */
export const LEGACY_VALUE_FORMAT_VERSION = 1;
/** HKDF `info` of the version-1 value key: names its purpose, so the storage key derives nothing else by accident. */
const VALUE_KEY_INFO_V1 = utf8('qkms/v1/node-store/value-aead');
/** HKDF `info` of version 2's pseudorandom key, from which each value's key is expanded. */
const VALUE_PRK_INFO_V2 = utf8('qkms/v2/node-store/value-prk');
/** HKDF `info` prefix of one value's key; the value's salt follows it. */
const VALUE_KEY_INFO_V2 = utf8('qkms/v2/node-store/value-key');
/** A version-2 value's salt: 256 bits, so salts (and thus keys) repeat with probability ~n^2/2^257. */
export const VALUE_SALT_BYTES = 32;
/** The node's storage key: 256 bits (keystore). */
export const STORAGE_KEY_BYTES = 32;
/** AES-256 key length. */
const AES_KEY_BYTES = 32;
/** Smallest well-formed stored value of each version: header and tag around an empty plaintext. */
const MIN_SEALED_BYTES = {
  1: 1 + AES_GCM_LENGTHS.nonce + AES_GCM_LENGTHS.tag,
  2: 1 + VALUE_SALT_BYTES + AES_GCM_LENGTHS.nonce + AES_GCM_LENGTHS.tag,
} as const;

function corrupt(key: Uint8Array, what: string, cause?: unknown): QkmsError {
  const kind = kindOfKey(key) ?? 'unknown';
  return new QkmsError(ErrorCode.STORE_CORRUPT, `node store: ${kind} record ${what}`, { cause });
}

interface Keys {
  /** Version 1's one key for every value (read only). */
  readonly v1: Uint8Array;
  /** Version 2's pseudorandom key: each value's key is expanded from it and the value's salt. */
  readonly prk2: Uint8Array;
}

/** Seals and opens stored values; holds the derived keys until wiped. */
export class RecordCipher {
  readonly #suite: CryptoSuite;
  #keys: Keys | undefined;

  constructor(storageKey: Uint8Array, suite: CryptoSuite) {
    if (!(storageKey instanceof Uint8Array) || storageKey.length !== STORAGE_KEY_BYTES) {
      throw new QkmsError(
        ErrorCode.INVALID_LENGTH,
        `storageKey: expected ${STORAGE_KEY_BYTES} bytes, got ${storageKey instanceof Uint8Array ? String(storageKey.length) : typeof storageKey}`,
      );
    }
    this.#suite = suite;
    const empty = new Uint8Array(0);
    this.#keys = {
      v1: suite.hkdfSha256(storageKey, empty, VALUE_KEY_INFO_V1, AES_KEY_BYTES),
      prk2: suite.hkdfSha256(storageKey, empty, VALUE_PRK_INFO_V2, AES_KEY_BYTES),
    };
  }

  #liveKeys(): Keys {
    if (this.#keys === undefined)
      throw new QkmsError(ErrorCode.BUSY, 'node store: the record cipher is wiped (store closed)');
    return this.#keys;
  }

  /** One version-2 value's AES key. Secret: the caller wipes it. */
  #valueKey(prk2: Uint8Array, salt: Uint8Array): Uint8Array {
    return this.#suite.hkdfSha256(
      prk2,
      new Uint8Array(0),
      concatBytes(VALUE_KEY_INFO_V2, salt),
      AES_KEY_BYTES,
    );
  }

  /** The stored form of `plaintext` under `key`: always version 2, under a key of its own. */
  seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const { prk2 } = this.#liveKeys();
    const version = Uint8Array.of(VALUE_FORMAT_VERSION);
    const salt = this.#suite.randomBytes(VALUE_SALT_BYTES);
    const nonce = this.#suite.randomBytes(AES_GCM_LENGTHS.nonce);
    const valueKey = this.#valueKey(prk2, salt);
    try {
      const sealed = this.#suite.aes256gcm.encrypt(
        valueKey,
        nonce,
        plaintext,
        concatBytes(version, key),
      );
      return concatBytes(version, salt, nonce, sealed);
    } finally {
      wipe(valueKey);
    }
  }

  /**
   * The plaintext stored under `key`, of either version. Throws QkmsError
   * STORE_CORRUPT (naming the record kind, never content) when the value is
   * malformed, of an unknown version or fails authentication: such a value
   * is never returned.
   */
  open(key: Uint8Array, stored: Uint8Array): Uint8Array {
    const keys = this.#liveKeys();
    const version = stored[0];
    if (version !== LEGACY_VALUE_FORMAT_VERSION && version !== VALUE_FORMAT_VERSION) {
      throw corrupt(key, stored.length === 0 ? 'is truncated' : 'has an unknown value format');
    }
    if (stored.length < MIN_SEALED_BYTES[version]) throw corrupt(key, 'is truncated');
    const aad = concatBytes(stored.subarray(0, 1), key);
    let at = 1;
    let aesKey = keys.v1;
    if (version === VALUE_FORMAT_VERSION) {
      aesKey = this.#valueKey(keys.prk2, stored.subarray(at, at + VALUE_SALT_BYTES));
      at += VALUE_SALT_BYTES;
    }
    const nonce = stored.subarray(at, at + AES_GCM_LENGTHS.nonce);
    const sealed = stored.subarray(at + AES_GCM_LENGTHS.nonce);
    try {
      return this.#suite.aes256gcm.decrypt(aesKey, nonce, sealed, aad);
    } catch (e) {
      throw corrupt(key, 'failed authentication', e);
    } finally {
      if (aesKey !== keys.v1) wipe(aesKey);
    }
  }

  /** Overwrites the derived keys; seal and open throw afterwards. Idempotent. */
  wipe(): void {
    wipe(this.#keys?.v1);
    wipe(this.#keys?.prk2);
    this.#keys = undefined;
  }
}
