// Public entry of the protocol layer: what node and client agree on.
export { ErrorCode, QkmsError, isQkmsError } from './errors.ts';
export { concatBytes, copyBytes, fromHex, toHex, utf8, wipe } from './bytes.ts';
export { DomainTag, tagBytes } from './domain-tags.ts';
export { HPKE_SUITE, HPKE_TAG_BYTES, open, seal, type SealContext, type Sealed } from './seal.ts';
export {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  HYBRID_LENGTHS,
  MLDSA65_LENGTHS,
  XWING_LENGTHS,
  defaultSuite,
  nativeSuite,
  nobleSuite,
  requireNativeSuite,
  type Aes256Gcm,
  type CryptoSuite,
  type Decapsulator,
  type Encapsulation,
  type SignatureScheme,
  type SigningKey,
  type XWingKem,
} from './suite/index.ts';
