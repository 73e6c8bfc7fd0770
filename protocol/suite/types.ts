// The CryptoSuite: every primitive qkms uses, behind one interface with two
// backends — `native` (node:crypto, Node >= 24) and `noble` (@noble/*, pure JS,
// for browsers and other runtimes). Both are byte-compatible; the tests cross
// them. Keys are raw bytes in the formats of their specs:
//   X-Wing     draft-connolly-cfrg-xwing-kem: 32-byte seed secret key, 1216-byte public key
//   Ed25519    RFC 8032: 32-byte seed, 32-byte public key, 64-byte signature
//   ML-DSA-65  FIPS 204: 32-byte seed (xi), 1952-byte public key, 3309-byte signature

export const XWING_LENGTHS = {
  seed: 32,
  publicKey: 1216,
  cipherText: 1120,
  sharedSecret: 32,
  /** Encapsulation randomness for the deterministic variant (test vectors). */
  encapsulationSeed: 64,
} as const;

export const ED25519_LENGTHS = { seed: 32, publicKey: 32, signature: 64 } as const;
export const MLDSA65_LENGTHS = { seed: 32, publicKey: 1952, signature: 3309 } as const;

export const AES_GCM_LENGTHS = { key: 32, nonce: 12, tag: 16 } as const;

export interface Encapsulation {
  readonly cipherText: Uint8Array;
  /** Secret: the caller wipes it once used. */
  readonly sharedSecret: Uint8Array;
}

/** A secret key imported once and used many times (the import is the costly part). */
export interface Decapsulator {
  readonly publicKey: Uint8Array;
  decapsulate(cipherText: Uint8Array): Uint8Array;
}

export interface XWingKem {
  readonly lengths: typeof XWING_LENGTHS;
  /** Derives the key pair from a 32-byte seed (a fresh random one if omitted). */
  keygen(seed?: Uint8Array): { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  encapsulate(publicKey: Uint8Array): Encapsulation;
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
  decapsulator(secretKey: Uint8Array): Decapsulator;
}

export interface SigningKey {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface SignatureScheme {
  readonly lengths: {
    readonly seed: number;
    readonly publicKey: number;
    readonly signature: number;
  };
  keygen(seed?: Uint8Array): { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** False for anything that is not a valid signature, including wrong lengths; never throws on bad input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  signer(secretKey: Uint8Array): SigningKey;
}

export interface Aes256Gcm {
  /** Returns ciphertext || 16-byte tag. */
  encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Throws QkmsError DECRYPT_FAILED when authentication fails. */
  decrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
}

export interface CryptoSuite {
  readonly name: 'native' | 'noble';
  readonly xwing: XWingKem;
  readonly ed25519: SignatureScheme;
  readonly mldsa65: SignatureScheme;
  /** Ed25519 + ML-DSA-65, valid only if both verify (hybrid.ts). */
  readonly hybrid: SignatureScheme;
  readonly aes256gcm: Aes256Gcm;
  // Function-valued properties, not methods: they use no `this`, so they can be passed around.
  readonly sha256: (data: Uint8Array) => Uint8Array;
  readonly sha3_256: (data: Uint8Array) => Uint8Array;
  readonly keccak256: (data: Uint8Array) => Uint8Array;
  readonly hkdfSha256: (
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number,
  ) => Uint8Array;
  readonly randomBytes: (length: number) => Uint8Array;
  /** Constant-time for equal lengths; lengths themselves are treated as public. */
  readonly equalBytes: (a: Uint8Array, b: Uint8Array) => boolean;
}
