// X-Wing as an RFC 9180 KEM (id 0x647A) for @hpke/core, backed by a
// CryptoSuite so HPKE runs on node:crypto where it can. @hpke/core supplies
// the HPKE key schedule, HKDF-SHA256 and AES-256-GCM (WebCrypto); we supply
// only the KEM. Key formats follow draft-connolly-cfrg-xwing-kem's HPKE
// section: the private key is the 32-byte seed, the public key 1216 bytes,
// DeriveKeyPair(ikm) = GenerateKeyPairDerand(SHAKE256(ikm, 32)).
import {
  DecapError,
  DeriveKeyPairError,
  DeserializeError,
  EncapError,
  KemId,
  XCryptoKey,
  type KemInterface,
  type RecipientContextParams,
  type SenderContextParams,
} from '@hpke/common';
import { shake256 } from '@noble/hashes/sha3.js';
import type { CryptoSuite, Decapsulator } from './suite/types.ts';
import { XWING_LENGTHS } from './suite/types.ts';

const ALG = 'X-Wing';

function bytesOf(input: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
}

/** An owned ArrayBuffer holding exactly these bytes (what @hpke/core's interface returns). */
function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/** Private keys we imported once, so repeated opens skip the key expansion. */
const decapsulators = new WeakMap<CryptoKey, Decapsulator>();

/** Wraps an already-imported Decapsulator as a CryptoKey @hpke/core can pass back to us. */
export function decapsulatorKey(d: Decapsulator): CryptoKey {
  const key = new XCryptoKey(ALG, new Uint8Array(0), 'private', ['deriveBits']);
  decapsulators.set(key, d);
  return key;
}

function keyBytes(key: CryptoKey, type: 'public' | 'private'): Uint8Array {
  if (!(key instanceof XCryptoKey) || key.type !== type)
    throw new Error(`expected an X-Wing ${type} key`);
  return key.key;
}

export class XWingKem implements KemInterface {
  readonly id = KemId.XWing;
  readonly secretSize = XWING_LENGTHS.sharedSecret;
  readonly encSize = XWING_LENGTHS.cipherText;
  readonly publicKeySize = XWING_LENGTHS.publicKey;
  readonly privateKeySize = XWING_LENGTHS.seed;
  readonly #suite: CryptoSuite;

  constructor(suite: CryptoSuite) {
    this.#suite = suite;
  }

  serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBuffer(keyBytes(key, 'public')));
  }

  deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const bytes = bytesOf(key);
    if (bytes.length !== XWING_LENGTHS.publicKey)
      return Promise.reject(new DeserializeError('X-Wing public key length'));
    return Promise.resolve(new XCryptoKey(ALG, bytes.slice(), 'public'));
  }

  serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBuffer(keyBytes(key, 'private')));
  }

  deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const bytes = bytesOf(key);
    if (bytes.length !== XWING_LENGTHS.seed)
      return Promise.reject(new DeserializeError('X-Wing private key length'));
    return Promise.resolve(new XCryptoKey(ALG, bytes.slice(), 'private', ['deriveBits']));
  }

  /** Overwrites the seed held by a private key this KEM deserialized. */
  wipePrivateKey(key: CryptoKey): Promise<void> {
    if (key instanceof XCryptoKey && key.type === 'private') key.key.fill(0);
    return Promise.resolve();
  }

  importKey(
    format: 'raw' | 'jwk',
    key: ArrayBuffer | JsonWebKey,
    isPublic = true,
  ): Promise<CryptoKey> {
    if (format !== 'raw' || !(key instanceof ArrayBuffer)) {
      return Promise.reject(new DeserializeError('X-Wing keys import from raw bytes only'));
    }
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  generateKeyPair(): Promise<CryptoKeyPair> {
    return this.#pair(this.#suite.randomBytes(XWING_LENGTHS.seed));
  }

  deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    const bytes = bytesOf(ikm);
    if (bytes.length < XWING_LENGTHS.seed)
      return Promise.reject(new DeriveKeyPairError('ikm shorter than 32 bytes'));
    return this.#pair(shake256(bytes, { dkLen: XWING_LENGTHS.seed }));
  }

  #pair(seed: Uint8Array): Promise<CryptoKeyPair> {
    try {
      const { publicKey, secretKey } = this.#suite.xwing.keygen(seed);
      return Promise.resolve({
        publicKey: new XCryptoKey(ALG, publicKey, 'public'),
        privateKey: new XCryptoKey(ALG, secretKey, 'private', ['deriveBits']),
      });
    } catch (e) {
      return Promise.reject(new DeriveKeyPairError(e));
    } finally {
      seed.fill(0);
    }
  }

  encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    try {
      if (params.ekm !== undefined)
        throw new Error('caller-supplied encapsulation randomness is not supported');
      const { cipherText, sharedSecret } = this.#suite.xwing.encapsulate(
        keyBytes(params.recipientPublicKey, 'public'),
      );
      const out = { sharedSecret: arrayBuffer(sharedSecret), enc: arrayBuffer(cipherText) };
      sharedSecret.fill(0);
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(new EncapError(e));
    }
  }

  decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    try {
      const key =
        'privateKey' in params.recipientKey ? params.recipientKey.privateKey : params.recipientKey;
      const enc = bytesOf(params.enc);
      const imported = decapsulators.get(key);
      const ss =
        imported !== undefined
          ? imported.decapsulate(enc)
          : this.#suite.xwing.decapsulate(enc, keyBytes(key, 'private'));
      const out = arrayBuffer(ss);
      ss.fill(0);
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(new DecapError(e));
    }
  }
}
