// Chooses the CryptoSuite: native where node:crypto offers every primitive
// (Node >= 24.7), noble everywhere else. Which module answers is decided by
// package.json "imports" (`#crypto-suite`): the `browser` condition gets
// default-browser.ts, so a browser bundle holds no native-suite code.
export { defaultSuite, nativeSuite, requireNativeSuite } from '#crypto-suite';
export { nobleSuite } from './noble.ts';
export { HYBRID_LENGTHS } from './hybrid.ts';
export {
  AES_GCM_LENGTHS,
  ED25519_LENGTHS,
  MLDSA65_LENGTHS,
  XWING_LENGTHS,
  type Aes256Gcm,
  type CryptoSuite,
  type Decapsulator,
  type Encapsulation,
  type SignatureScheme,
  type SigningKey,
  type XWingKem,
} from './types.ts';
