// Synchronous KDF and AEAD for @hpke/core. Its stock HkdfSha256 and Aes256Gcm
// go through WebCrypto, whose every call is an async thread-pool round trip:
// about a dozen of them per seal cost more than the X-Wing KEM itself. These
// adapters keep @hpke/core's RFC 9180 key schedule and labels (we subclass its
// HKDF and override only its Extract and Expand steps, with @noble/hashes' RFC 5869
// functions) and run AES-256-GCM on the CryptoSuite. Same bytes, tested
// against @hpke/core's stock suite and @hpke/hybridkem-x-wing.
import {
  AeadId,
  DecapError,
  HkdfSha256Native,
  type AeadEncryptionContext,
  type AeadInterface,
} from '@hpke/common';
import { sha256 } from '@noble/hashes/sha2.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import type { CryptoSuite } from './suite/types.ts';
import { AES_GCM_LENGTHS } from './suite/types.ts';

function bytesOf(input: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
}

function owned(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

export class SyncHkdfSha256 extends HkdfSha256Native {
  override extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const s = bytesOf(salt);
    return Promise.resolve(
      owned(extract(sha256, bytesOf(ikm), s.length === 0 ? new Uint8Array(32) : s)),
    );
  }

  override expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return Promise.resolve(owned(expand(sha256, bytesOf(prk), bytesOf(info), len)));
  }

  override extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    const prk = extract(sha256, bytesOf(ikm), bytesOf(salt));
    try {
      return Promise.resolve(owned(expand(sha256, prk, bytesOf(info), len)));
    } finally {
      prk.fill(0);
    }
  }
}

export class SuiteAes256Gcm implements AeadInterface {
  readonly id = AeadId.Aes256Gcm;
  readonly keySize = AES_GCM_LENGTHS.key;
  readonly nonceSize = AES_GCM_LENGTHS.nonce;
  readonly tagSize = AES_GCM_LENGTHS.tag;
  readonly #suite: CryptoSuite;

  constructor(suite: CryptoSuite) {
    this.#suite = suite;
  }

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = bytesOf(key).slice();
    const gcm = this.#suite.aes256gcm;
    return {
      seal: (iv, data, aad) =>
        Promise.resolve(owned(gcm.encrypt(k, bytesOf(iv), bytesOf(data), bytesOf(aad)))),
      open(iv, data, aad) {
        try {
          return Promise.resolve(owned(gcm.decrypt(k, bytesOf(iv), bytesOf(data), bytesOf(aad))));
        } catch (e) {
          return Promise.reject(new DecapError(e));
        }
      },
    };
  }
}
