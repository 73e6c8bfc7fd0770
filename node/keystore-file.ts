// The keystore file's format (node/keystore.ts writes and loads it): JSON,
//   { "qkmsKeystore": 1,
//     "public":  { "peerId", "nodePublicKey", "kemPublicKey" },
//     "secrets": { "protection": "none", "identitySeed", "kemSeed", "storageKey" }
//              | { "protection": "scrypt-aes256gcm", "kdf": { "logN", "r", "p", "salt" },
//                  "nonce", "ciphertext" } }
// with every byte string as lower-case hex. The reader is strict: an unknown
// or missing key, a wrong length or a cost outside the allowed range is
// KEYSTORE_INVALID naming the field, never quoting its value. An encrypted
// file's AEAD binds its header (headerAad): every field but the ciphertext.
import { scrypt } from '@noble/hashes/scrypt.js';
import {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  ErrorCode,
  QkmsError,
  XWING_LENGTHS,
  concatBytes,
  encodeCanonical,
  fromHex,
  peerIdFromEd25519PublicKey,
  utf8,
  wipe,
} from '../protocol/internal.ts';

/** Format of the file; a reader refuses any other. */
export const KEYSTORE_FORMAT = 1;
/** Each secret is 32 bytes: an Ed25519 seed, an X-Wing seed, an AES-256 key. */
export const KEYSTORE_SECRET_BYTES = 32;
/**
 * scrypt cost for a passphrase-encrypted keystore: N = 2^17, r = 8, p = 1 uses
 * 128 MiB and about half a second (pure-JS @noble/hashes on a 2024 server
 * core). This is OWASP's recommended scrypt floor; the node pays it once per
 * start, while an attacker with the file pays it per guess, in memory a GPU
 * cannot spread thin.
 */
export const KEYSTORE_SCRYPT = { logN: 17, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
/** A file asking for more than 2^20 (1 GiB of memory) is refused rather than obeyed. */
export const KEYSTORE_SCRYPT_MAX_LOG_N = 20;

/** Prefix of the AEAD associated data (local to the node; nothing outside it checks it). */
export const KEYSTORE_AAD_TAG = utf8('qkms/v1/keystore\0');
export const PROTECTION = { none: 'none', scrypt: 'scrypt-aes256gcm' } as const;
/** What an admin needs to add the node to a node set, and all `status` shows. No secrets. */
export interface KeystorePublicInfo {
  /** libp2p PeerId (base58btc) of the Ed25519 identity. */
  readonly peerId: string;
  /** Ed25519 public key, lower-case hex (32 bytes). */
  readonly nodePublicKey: string;
  /** X-Wing public key, lower-case hex (1216 bytes). */
  readonly kemPublicKey: string;
}

export function invalid(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.KEYSTORE_INVALID, message, { cause });
}

export interface ScryptParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  /** Lower-case hex. */
  readonly salt: string;
}

/** The fields the AEAD binds: the whole file except the ciphertext. */
export interface EncryptedHeader {
  readonly publicInfo: KeystorePublicInfo;
  readonly kdf: ScryptParams;
  /** Lower-case hex. */
  readonly nonce: string;
}

export function headerAad(header: EncryptedHeader): Uint8Array {
  const { publicInfo, kdf, nonce } = header;
  return concatBytes(
    KEYSTORE_AAD_TAG,
    encodeCanonical({
      qkmsKeystore: KEYSTORE_FORMAT,
      public: {
        peerId: publicInfo.peerId,
        nodePublicKey: publicInfo.nodePublicKey,
        kemPublicKey: publicInfo.kemPublicKey,
      },
      protection: PROTECTION.scrypt,
      kdf: { logN: kdf.logN, r: kdf.r, p: kdf.p, salt: kdf.salt },
      nonce,
    }),
  );
}

/** The AEAD key of an encrypted file: scrypt(NFKC(passphrase), salt) at the file's cost. */
export function deriveKey(passphrase: string, kdf: ScryptParams): Uint8Array {
  const password = utf8(passphrase);
  try {
    const N = 2 ** kdf.logN;
    return scrypt(password, fromHex(kdf.salt), {
      N,
      r: kdf.r,
      p: kdf.p,
      dkLen: KEYSTORE_SCRYPT.keyBytes,
      // 128 * r * (N + p) bytes, and a little for the salt blocks.
      maxmem: 128 * kdf.r * (N + kdf.p) + 4096,
    });
  } finally {
    wipe(password);
  }
}

export type Json =
  null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

export interface ParsedFile {
  readonly publicInfo: KeystorePublicInfo;
  readonly secrets:
    | {
        readonly protection: typeof PROTECTION.none;
        readonly identitySeed: string;
        readonly kemSeed: string;
        readonly storageKey: string;
      }
    | {
        readonly protection: typeof PROTECTION.scrypt;
        readonly header: EncryptedHeader;
        readonly ciphertext: string;
      };
}

class FileReader {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  fail(field: string, expected: string): QkmsError {
    return invalid(`keystore ${this.#path}: ${field}: expected ${expected}`);
  }

  object(value: Json | undefined, field: string, keys: readonly string[]): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.fail(field, `an object, got ${value === null ? 'null' : typeof value}`);
    }
    const map = value as JsonObject;
    for (const key of Object.keys(map)) {
      if (!keys.includes(key)) throw this.fail(`${field}.${key}`, 'no such field (unknown key)');
    }
    for (const key of keys) {
      if (!Object.hasOwn(map, key)) throw this.fail(`${field}.${key}`, 'a value (missing)');
    }
    return map;
  }

  hex(value: Json | undefined, field: string, bytes: number): string {
    const expected = `${bytes} bytes of lower-case hex`;
    if (typeof value !== 'string') throw this.fail(field, `${expected}, got ${typeof value}`);
    if (value.length !== 2 * bytes)
      throw this.fail(field, `${expected}, got ${value.length} chars`);
    if (!/^[0-9a-f]*$/.test(value)) throw this.fail(field, `${expected}, got another character`);
    return value;
  }

  int(value: Json | undefined, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      const got = typeof value === 'number' ? String(value) : typeof value;
      throw this.fail(field, min === max ? `${min}, got ${got}` : `[${min}, ${max}], got ${got}`);
    }
    return value;
  }
}

export function parseFile(text: string, path: string, minLogN: number): ParsedFile {
  const r = new FileReader(path);
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // No `cause`: V8's SyntaxError quotes the text around the error, which may be a secret.
    throw invalid(`keystore ${path}: not valid JSON`);
  }
  const top = r.object(json, 'keystore', ['qkmsKeystore', 'public', 'secrets']);
  r.int(top.qkmsKeystore, 'qkmsKeystore', KEYSTORE_FORMAT, KEYSTORE_FORMAT);
  const pub = r.object(top.public, 'public', ['peerId', 'nodePublicKey', 'kemPublicKey']);
  if (typeof pub.peerId !== 'string')
    throw r.fail('public.peerId', `a string, got ${typeof pub.peerId}`);
  const publicInfo: KeystorePublicInfo = Object.freeze({
    peerId: pub.peerId,
    nodePublicKey: r.hex(pub.nodePublicKey, 'public.nodePublicKey', ED25519_LENGTHS.publicKey),
    kemPublicKey: r.hex(pub.kemPublicKey, 'public.kemPublicKey', XWING_LENGTHS.publicKey),
  });
  // The PeerId is the public key's multihash; a mismatch is a broken file.
  if (peerIdFromEd25519PublicKey(fromHex(publicInfo.nodePublicKey)) !== publicInfo.peerId) {
    throw r.fail('public.peerId', 'the PeerId of public.nodePublicKey');
  }
  const secretsValue = top.secrets;
  const protection =
    typeof secretsValue === 'object' && secretsValue !== null && !Array.isArray(secretsValue)
      ? (secretsValue as JsonObject).protection
      : undefined;
  if (protection === PROTECTION.none) {
    const s = r.object(secretsValue, 'secrets', [
      'protection',
      'identitySeed',
      'kemSeed',
      'storageKey',
    ]);
    return {
      publicInfo,
      secrets: {
        protection,
        identitySeed: r.hex(s.identitySeed, 'secrets.identitySeed', KEYSTORE_SECRET_BYTES),
        kemSeed: r.hex(s.kemSeed, 'secrets.kemSeed', KEYSTORE_SECRET_BYTES),
        storageKey: r.hex(s.storageKey, 'secrets.storageKey', KEYSTORE_SECRET_BYTES),
      },
    };
  }
  if (protection === PROTECTION.scrypt) {
    const s = r.object(secretsValue, 'secrets', ['protection', 'kdf', 'nonce', 'ciphertext']);
    const k = r.object(s.kdf, 'secrets.kdf', ['logN', 'r', 'p', 'salt']);
    const kdf: ScryptParams = {
      logN: r.int(k.logN, 'secrets.kdf.logN', minLogN, KEYSTORE_SCRYPT_MAX_LOG_N),
      r: r.int(k.r, 'secrets.kdf.r', KEYSTORE_SCRYPT.r, KEYSTORE_SCRYPT.r),
      p: r.int(k.p, 'secrets.kdf.p', KEYSTORE_SCRYPT.p, KEYSTORE_SCRYPT.p),
      salt: r.hex(k.salt, 'secrets.kdf.salt', KEYSTORE_SCRYPT.saltBytes),
    };
    return {
      publicInfo,
      secrets: {
        protection,
        header: { publicInfo, kdf, nonce: r.hex(s.nonce, 'secrets.nonce', AES_GCM_LENGTHS.nonce) },
        ciphertext: r.hex(
          s.ciphertext,
          'secrets.ciphertext',
          3 * KEYSTORE_SECRET_BYTES + AES_GCM_LENGTHS.tag,
        ),
      },
    };
  }
  if (typeof secretsValue !== 'object' || secretsValue === null || Array.isArray(secretsValue)) {
    throw r.fail('secrets', 'an object');
  }
  throw r.fail('secrets.protection', `"${PROTECTION.none}" or "${PROTECTION.scrypt}"`);
}
