// The pure-JS CryptoSuite backend, on @noble/* (audited, dependency-free).
// Used where node:crypto lacks a primitive: browsers, Deno, older Node. Every
// operation is byte-compatible with native.ts (proven by suite.test.ts).
//   X-Wing     @noble/post-quantum ml_kem768_x25519 (draft-connolly-cfrg-xwing-kem)
//   Ed25519    @noble/curves, RFC 8032 verification rules (zip215: false), as OpenSSL
//   ML-DSA-65  @noble/post-quantum ml_dsa65 (FIPS 204), empty context
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256, sha3_256 } from '@noble/hashes/sha3.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { gcm } from '@noble/ciphers/aes.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { abytes, aint } from '../assert.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { hybridScheme } from './hybrid.ts';
import {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  MLDSA65_LENGTHS,
  XWING_LENGTHS,
  type CryptoSuite,
  type Encapsulation,
  type SignatureScheme,
  type XWingKem,
} from './types.ts';

/** Upper bound on a single randomBytes request (getRandomValues allows 65536). */
const MAX_RANDOM_BYTES = 65_536;

export function randomBytes(length: number): Uint8Array {
  aint(length, 'length', 0, MAX_RANDOM_BYTES);
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function kemFailure(e: unknown): QkmsError {
  return new QkmsError(ErrorCode.KEM_FAILED, 'X-Wing: key agreement failed', { cause: e });
}

const xwing: XWingKem & {
  /** Deterministic encapsulation from 64 bytes of randomness: test vectors only. */
  encapsulateDerand(publicKey: Uint8Array, encapsulationSeed: Uint8Array): Encapsulation;
} = {
  lengths: XWING_LENGTHS,
  keygen(seed = randomBytes(XWING_LENGTHS.seed)) {
    abytes(seed, 'seed', XWING_LENGTHS.seed);
    return { publicKey: ml_kem768_x25519.getPublicKey(seed), secretKey: seed.slice() };
  },
  getPublicKey(secretKey) {
    return ml_kem768_x25519.getPublicKey(abytes(secretKey, 'secretKey', XWING_LENGTHS.seed));
  },
  encapsulate(publicKey) {
    return xwing.encapsulateDerand(publicKey, randomBytes(XWING_LENGTHS.encapsulationSeed));
  },
  encapsulateDerand(publicKey, encapsulationSeed) {
    abytes(publicKey, 'publicKey', XWING_LENGTHS.publicKey);
    abytes(encapsulationSeed, 'encapsulationSeed', XWING_LENGTHS.encapsulationSeed);
    try {
      return ml_kem768_x25519.encapsulate(publicKey, encapsulationSeed);
    } catch (e) {
      throw kemFailure(e);
    } finally {
      encapsulationSeed.fill(0);
    }
  },
  decapsulate(cipherText, secretKey) {
    abytes(cipherText, 'cipherText', XWING_LENGTHS.cipherText);
    abytes(secretKey, 'secretKey', XWING_LENGTHS.seed);
    try {
      return ml_kem768_x25519.decapsulate(cipherText, secretKey);
    } catch (e) {
      throw kemFailure(e);
    }
  },
  decapsulator(secretKey) {
    const seed = abytes(secretKey, 'secretKey', XWING_LENGTHS.seed).slice();
    return {
      publicKey: ml_kem768_x25519.getPublicKey(seed),
      decapsulate: (cipherText) => xwing.decapsulate(cipherText, seed),
    };
  },
};

const ed: SignatureScheme = {
  lengths: ED25519_LENGTHS,
  keygen(seed = randomBytes(ED25519_LENGTHS.seed)) {
    abytes(seed, 'seed', ED25519_LENGTHS.seed);
    return { publicKey: ed25519.getPublicKey(seed), secretKey: seed.slice() };
  },
  getPublicKey: (secretKey) =>
    ed25519.getPublicKey(abytes(secretKey, 'secretKey', ED25519_LENGTHS.seed)),
  sign: (message, secretKey) =>
    ed25519.sign(abytes(message, 'message'), abytes(secretKey, 'secretKey', ED25519_LENGTHS.seed)),
  verify(signature, message, publicKey) {
    if (
      signature.length !== ED25519_LENGTHS.signature ||
      publicKey.length !== ED25519_LENGTHS.publicKey
    )
      return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  signer(secretKey) {
    const seed = abytes(secretKey, 'secretKey', ED25519_LENGTHS.seed).slice();
    return { publicKey: ed25519.getPublicKey(seed), sign: (message) => ed.sign(message, seed) };
  },
};

function mldsaExpand(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return ml_dsa65.keygen(abytes(seed, 'secretKey', MLDSA65_LENGTHS.seed));
}

const mldsa: SignatureScheme = {
  lengths: MLDSA65_LENGTHS,
  keygen(seed = randomBytes(MLDSA65_LENGTHS.seed)) {
    const { publicKey, secretKey } = mldsaExpand(seed);
    secretKey.fill(0);
    return { publicKey, secretKey: seed.slice() };
  },
  getPublicKey(secretKey) {
    const expanded = mldsaExpand(secretKey);
    expanded.secretKey.fill(0);
    return expanded.publicKey;
  },
  sign(message, secretKey) {
    const expanded = mldsaExpand(secretKey);
    try {
      return ml_dsa65.sign(abytes(message, 'message'), expanded.secretKey);
    } finally {
      expanded.secretKey.fill(0);
    }
  },
  verify(signature, message, publicKey) {
    if (
      signature.length !== MLDSA65_LENGTHS.signature ||
      publicKey.length !== MLDSA65_LENGTHS.publicKey
    )
      return false;
    try {
      return ml_dsa65.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
  signer(secretKey) {
    const expanded = mldsaExpand(secretKey);
    return {
      publicKey: expanded.publicKey,
      sign: (message) => ml_dsa65.sign(abytes(message, 'message'), expanded.secretKey),
    };
  },
};

function checkGcm(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): void {
  abytes(key, 'key', AES_GCM_LENGTHS.key);
  abytes(nonce, 'nonce', AES_GCM_LENGTHS.nonce);
  abytes(aad, 'aad');
}

export const nobleSuite: CryptoSuite & { readonly xwing: typeof xwing } = {
  name: 'noble',
  xwing,
  ed25519: ed,
  mldsa65: mldsa,
  hybrid: hybridScheme(ed, mldsa, randomBytes),
  aes256gcm: {
    encrypt(key, nonce, plaintext, aad) {
      checkGcm(key, nonce, aad);
      return gcm(key, nonce, aad).encrypt(abytes(plaintext, 'plaintext'));
    },
    decrypt(key, nonce, sealed, aad) {
      checkGcm(key, nonce, aad);
      abytes(sealed, 'sealed');
      if (sealed.length < AES_GCM_LENGTHS.tag)
        throw new QkmsError(ErrorCode.DECRYPT_FAILED, 'AES-GCM: input shorter than its tag');
      try {
        return gcm(key, nonce, aad).decrypt(sealed);
      } catch (e) {
        throw new QkmsError(ErrorCode.DECRYPT_FAILED, 'AES-GCM: authentication failed', {
          cause: e,
        });
      }
    },
  },
  sha256: (data) => sha256(abytes(data, 'data')),
  sha3_256: (data) => sha3_256(abytes(data, 'data')),
  keccak256: (data) => keccak_256(abytes(data, 'data')),
  hkdfSha256(ikm, salt, info, length) {
    aint(length, 'length', 1, 255 * 32);
    return hkdf(sha256, abytes(ikm, 'ikm'), abytes(salt, 'salt'), abytes(info, 'info'), length);
  },
  randomBytes,
  equalBytes: (a, b) => a.length === b.length && equalBytes(a, b),
};
