// The node:crypto CryptoSuite backend (Node >= 24: OpenSSL 3.5 with ML-KEM,
// ML-DSA, X25519, Ed25519, SHA-3, SHAKE), 10-40x faster than pure JS. It is
// reached through process.getBuiltinModule so this file loads (and reports
// itself unavailable) in a browser. Keys are imported from their raw spec
// formats through fixed DER prefixes (PKCS#8 seed forms, SPKI):
//   RFC 8410 (X25519, Ed25519), draft-ietf-lamps-kyber-certificates (ML-KEM
//   seed d||z), draft-ietf-lamps-dilithium-certificates (ML-DSA seed xi).
// X-Wing is assembled by hand from those primitives because no maintained
// library offers it on node:crypto; it follows draft-connolly-cfrg-xwing-kem
// and is checked against the draft's vectors and against noble.
import type * as NodeCrypto from 'node:crypto';
import { abytes, aint } from '../assert.ts';
import { BoundedMap } from '../bounded-map.ts';
import { concatBytes } from '../bytes.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { hybridScheme } from './hybrid.ts';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  MLDSA65_LENGTHS,
  XWING_LENGTHS,
  type CryptoSuite,
  type Decapsulator,
  type SignatureScheme,
  type XWingKem,
} from './types.ts';

type Crypto = typeof NodeCrypto;
type KeyObject = NodeCrypto.KeyObject;

const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

interface KeyType {
  /** node:crypto's asymmetricKeyType. */
  readonly name: 'x25519' | 'ed25519' | 'ml-kem-768' | 'ml-dsa-65';
  /** DER prefix that turns the raw secret (seed) into a PKCS#8 document. */
  readonly pkcs8: Uint8Array;
  /** DER prefix that turns the raw public key into an SPKI document. */
  readonly spki: Uint8Array;
}

const KEY = {
  x25519: {
    name: 'x25519',
    pkcs8: hex('302e020100300506032b656e04220420'),
    spki: hex('302a300506032b656e032100'),
  },
  ed25519: {
    name: 'ed25519',
    pkcs8: hex('302e020100300506032b657004220420'),
    spki: hex('302a300506032b6570032100'),
  },
  mlkem768: {
    name: 'ml-kem-768',
    pkcs8: hex('3054020100300b060960864801650304040204428040'),
    spki: hex('308204b2300b0609608648016503040402038204a100'),
  },
  mldsa65: {
    name: 'ml-dsa-65',
    pkcs8: hex('3034020100300b060960864801650304031204228020'),
    spki: hex('308207b2300b0609608648016503040312038207a100'),
  },
} as const satisfies Record<string, KeyType>;

const MLKEM768 = { publicKey: 1184, cipherText: 1088, seed: 64 } as const;
/** X-Wing combiner label "\.//^\" (draft-connolly-cfrg-xwing-kem, section 5). */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);
/** Imported public keys kept per process: public data, bounded so a flood of new keys cannot grow memory. */
const PUBLIC_KEY_CACHE_ENTRIES = 1024;

/** A plain Uint8Array over a node Buffer's bytes (Buffer#slice does not copy; Uint8Array#slice does). */
function u8(b: Uint8Array | ArrayBuffer): Uint8Array {
  return b instanceof ArrayBuffer
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function loadNodeCrypto(): Crypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as Crypto | undefined;
  if (
    mod === undefined ||
    typeof mod.encapsulate !== 'function' ||
    typeof mod.decapsulate !== 'function'
  ) {
    return undefined;
  }
  try {
    // Probe the exact imports this backend relies on, once.
    mod.createPrivateKey({
      key: Buffer.concat([KEY.mlkem768.pkcs8, new Uint8Array(64)]),
      format: 'der',
      type: 'pkcs8',
    });
    mod.createPrivateKey({
      key: Buffer.concat([KEY.mldsa65.pkcs8, new Uint8Array(32)]),
      format: 'der',
      type: 'pkcs8',
    });
    mod.createHash('shake256', { outputLength: 96 });
    mod.createHash('sha3-256');
    return mod;
  } catch {
    return undefined;
  }
}

function supportsRawPublicImport(c: Crypto): boolean {
  try {
    const x = c.generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x ?? '';
    const input = {
      key: Buffer.from(x, 'base64url'),
      format: 'raw-public',
      asymmetricKeyType: 'x25519',
    };
    return (
      c.createPublicKey(input as unknown as NodeCrypto.PublicKeyInput).asymmetricKeyType ===
      'x25519'
    );
  } catch {
    return false;
  }
}

interface BuildOptions {
  /** Import public keys from raw bytes where node:crypto can (default), else through SPKI DER. */
  readonly rawPublicImport: boolean;
}

function build(c: Crypto, options: BuildOptions): CryptoSuite {
  const der = (prefix: Uint8Array, raw: Uint8Array): Buffer => Buffer.concat([prefix, raw]);
  const privateKey = (type: KeyType, raw: Uint8Array): KeyObject => {
    const doc = der(type.pkcs8, raw);
    try {
      return c.createPrivateKey({ key: doc, format: 'der', type: 'pkcs8' });
    } finally {
      doc.fill(0);
    }
  };
  /** The raw public key, through JWK: about 20x cheaper than exporting SPKI DER. */
  const rawPublic = (key: KeyObject): Uint8Array => {
    const jwk = (key.type === 'public' ? key : c.createPublicKey(key)).export({ format: 'jwk' });
    const encoded = jwk.x ?? (jwk as { pub?: string }).pub;
    if (encoded === undefined) {
      throw new QkmsError(ErrorCode.UNSUPPORTED, 'node:crypto: public key export lacks raw bytes');
    }
    return u8(Buffer.from(encoded, 'base64url'));
  };
  // Recent Node imports raw public keys directly (10-20% cheaper than SPKI DER);
  // fall back to DER where it cannot.
  const rawImport = options.rawPublicImport && supportsRawPublicImport(c);
  const importPublic = (type: KeyType, raw: Uint8Array): KeyObject =>
    rawImport
      ? c.createPublicKey({
          key: raw,
          format: 'raw-public',
          asymmetricKeyType: type.name,
        } as unknown as NodeCrypto.PublicKeyInput)
      : c.createPublicKey({ key: der(type.spki, raw), format: 'der', type: 'spki' });

  const publicKeys = new BoundedMap<string, KeyObject>(PUBLIC_KEY_CACHE_ENTRIES);
  const publicKey = (type: KeyType, raw: Uint8Array): KeyObject => {
    const id = `${type.name}:${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1')}`;
    let key = publicKeys.get(id);
    if (key === undefined) {
      key = importPublic(type, raw);
      publicKeys.set(id, key);
    }
    return key;
  };

  const sha3_256 = (data: Uint8Array): Uint8Array =>
    u8(c.createHash('sha3-256').update(abytes(data, 'data')).digest());
  const random = (length: number): Uint8Array =>
    c.randomFillSync(new Uint8Array(aint(length, 'length', 0, 1 << 20)));
  const kemFailure = (e: unknown): QkmsError =>
    new QkmsError(ErrorCode.KEM_FAILED, 'X-Wing: key agreement failed', { cause: e });

  function xwingCombine(
    ssM: Uint8Array,
    ssX: Uint8Array,
    ctX: Uint8Array,
    pkX: Uint8Array,
  ): Uint8Array {
    const input = concatBytes(ssM, ssX, ctX, pkX, XWING_LABEL);
    try {
      return sha3_256(input);
    } finally {
      input.fill(0);
      ssM.fill(0);
      ssX.fill(0);
    }
  }

  function xwingDecapsulator(secretKey: Uint8Array): Decapsulator {
    abytes(secretKey, 'secretKey', XWING_LENGTHS.seed);
    const expanded = u8(c.createHash('shake256', { outputLength: 96 }).update(secretKey).digest());
    try {
      const skM = privateKey(KEY.mlkem768, expanded.subarray(0, MLKEM768.seed));
      const skX = privateKey(KEY.x25519, expanded.subarray(MLKEM768.seed));
      const pkX = rawPublic(skX);
      const pub = concatBytes(rawPublic(skM), pkX);
      return {
        publicKey: pub,
        decapsulate(cipherText) {
          abytes(cipherText, 'cipherText', XWING_LENGTHS.cipherText);
          const ctX = cipherText.subarray(MLKEM768.cipherText);
          try {
            const ssM = u8(c.decapsulate(skM, cipherText.subarray(0, MLKEM768.cipherText)));
            const ssX = u8(
              c.diffieHellman({ privateKey: skX, publicKey: importPublic(KEY.x25519, ctX) }),
            );
            return xwingCombine(ssM, ssX, ctX, pkX);
          } catch (e) {
            throw kemFailure(e);
          }
        },
      };
    } finally {
      expanded.fill(0);
    }
  }

  const xwing: XWingKem = {
    lengths: XWING_LENGTHS,
    keygen(seed = random(XWING_LENGTHS.seed)) {
      return { publicKey: xwingDecapsulator(seed).publicKey, secretKey: seed.slice() };
    },
    getPublicKey: (secretKey) => xwingDecapsulator(secretKey).publicKey,
    encapsulate(pk) {
      abytes(pk, 'publicKey', XWING_LENGTHS.publicKey);
      const pkX = pk.subarray(MLKEM768.publicKey);
      try {
        const { sharedKey, ciphertext } = c.encapsulate(
          publicKey(KEY.mlkem768, pk.subarray(0, MLKEM768.publicKey)),
        );
        const eph = c.generateKeyPairSync('x25519');
        const ctX = rawPublic(eph.publicKey);
        const ssX = u8(
          c.diffieHellman({
            privateKey: eph.privateKey,
            publicKey: publicKey(KEY.x25519, pkX),
          }),
        );
        const sharedSecret = xwingCombine(u8(sharedKey), ssX, ctX, pkX);
        return { cipherText: concatBytes(u8(ciphertext), ctX), sharedSecret };
      } catch (e) {
        throw kemFailure(e);
      }
    },
    decapsulate: (cipherText, secretKey) => xwingDecapsulator(secretKey).decapsulate(cipherText),
    decapsulator: xwingDecapsulator,
  };

  function signatureScheme(lengths: SignatureScheme['lengths'], type: KeyType): SignatureScheme {
    const importSecret = (secretKey: Uint8Array): KeyObject =>
      privateKey(type, abytes(secretKey, 'secretKey', lengths.seed));
    const scheme: SignatureScheme = {
      lengths,
      keygen(seed = random(lengths.seed)) {
        return { publicKey: scheme.getPublicKey(seed), secretKey: seed.slice() };
      },
      getPublicKey: (secretKey) => rawPublic(importSecret(secretKey)),
      sign: (message, secretKey) =>
        u8(c.sign(null, abytes(message, 'message'), importSecret(secretKey))),
      verify(signature, message, pk) {
        if (signature.length !== lengths.signature || pk.length !== lengths.publicKey) return false;
        try {
          return c.verify(null, message, publicKey(type, pk), signature);
        } catch {
          return false;
        }
      },
      signer(secretKey) {
        const key = importSecret(secretKey);
        return {
          publicKey: rawPublic(key),
          sign: (message) => u8(c.sign(null, abytes(message, 'message'), key)),
        };
      },
    };
    return scheme;
  }

  function gcmArgs(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): void {
    abytes(key, 'key', AES_GCM_LENGTHS.key);
    abytes(nonce, 'nonce', AES_GCM_LENGTHS.nonce);
    abytes(aad, 'aad');
  }

  const ed25519 = signatureScheme(ED25519_LENGTHS, KEY.ed25519);
  const mldsa65 = signatureScheme(MLDSA65_LENGTHS, KEY.mldsa65);
  return {
    name: 'native',
    xwing,
    ed25519,
    mldsa65,
    hybrid: hybridScheme(ed25519, mldsa65, random),
    aes256gcm: {
      encrypt(key, nonce, plaintext, aad) {
        gcmArgs(key, nonce, aad);
        const cipher = c.createCipheriv('aes-256-gcm', key, nonce, {
          authTagLength: AES_GCM_LENGTHS.tag,
        });
        cipher.setAAD(aad);
        const body = cipher.update(abytes(plaintext, 'plaintext'));
        return concatBytes(body, cipher.final(), cipher.getAuthTag());
      },
      decrypt(key, nonce, sealed, aad) {
        gcmArgs(key, nonce, aad);
        abytes(sealed, 'sealed');
        if (sealed.length < AES_GCM_LENGTHS.tag)
          throw new QkmsError(ErrorCode.DECRYPT_FAILED, 'AES-GCM: input shorter than its tag');
        const split = sealed.length - AES_GCM_LENGTHS.tag;
        const decipher = c.createDecipheriv('aes-256-gcm', key, nonce, {
          authTagLength: AES_GCM_LENGTHS.tag,
        });
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(split));
        const body = decipher.update(sealed.subarray(0, split));
        try {
          return concatBytes(body, decipher.final());
        } catch (e) {
          throw new QkmsError(ErrorCode.DECRYPT_FAILED, 'AES-GCM: authentication failed', {
            cause: e,
          });
        } finally {
          body.fill(0);
        }
      },
    },
    sha256: (data) => u8(c.createHash('sha256').update(abytes(data, 'data')).digest()),
    sha3_256,
    // node:crypto's SHA3 is FIPS 202; Ethereum's Keccak-256 uses the original padding.
    keccak256: (data) => keccak_256(abytes(data, 'data')),
    hkdfSha256(ikm, salt, info, length) {
      aint(length, 'length', 1, 255 * 32);
      return u8(
        c.hkdfSync(
          'sha256',
          abytes(ikm, 'ikm'),
          abytes(salt, 'salt'),
          abytes(info, 'info'),
          length,
        ),
      );
    },
    randomBytes: random,
    equalBytes: (a, b) => a.length === b.length && c.timingSafeEqual(a, b),
  };
}

let cached: CryptoSuite | null | undefined;

/** The native suite, or undefined where node:crypto lacks a primitive qkms needs. */
export function nativeSuite(): CryptoSuite | undefined {
  if (cached === undefined) {
    const c = loadNodeCrypto();
    cached = c === undefined ? null : build(c, { rawPublicImport: true });
  }
  return cached ?? undefined;
}

/** A fresh native suite with the given options (tests cross the import paths with it). */
export function createNativeSuite(options: BuildOptions): CryptoSuite | undefined {
  const c = loadNodeCrypto();
  return c === undefined ? undefined : build(c, options);
}

export function requireNativeSuite(): CryptoSuite {
  const suite = nativeSuite();
  if (suite === undefined)
    throw new QkmsError(
      ErrorCode.UNSUPPORTED,
      'native crypto suite: node:crypto lacks ML-KEM/ML-DSA (needs Node >= 24.7)',
    );
  return suite;
}
