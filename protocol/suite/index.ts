// Chooses the CryptoSuite at run time: native where node:crypto offers every
// primitive (Node >= 24.7), noble everywhere else (browsers, other runtimes).
import { nativeSuite } from './native.ts';
import { nobleSuite } from './noble.ts';
import type { CryptoSuite } from './types.ts';

export function defaultSuite(): CryptoSuite {
  return nativeSuite() ?? nobleSuite;
}

export { nativeSuite, requireNativeSuite } from './native.ts';
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
