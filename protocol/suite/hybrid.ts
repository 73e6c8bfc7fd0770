// Hybrid signature: Ed25519 + ML-DSA-65 over the same tagged message. Valid
// only if both halves verify, so it stands while either scheme stands (a
// quantum adversary must also forge ML-DSA; a flaw in the young ML-DSA
// implementations must also forge Ed25519). Both halves sign
// DomainTag.HYBRID_SIGNATURE || message, so neither half can be lifted out and
// passed off as a plain signature elsewhere in qkms.
//   secret key  = Ed25519 seed (32) || ML-DSA-65 seed (32)
//   public key  = Ed25519 public (32) || ML-DSA-65 public (1952)
//   signature   = Ed25519 signature (64) || ML-DSA-65 signature (3309)
import { abytes } from '../assert.ts';
import { concatBytes } from '../bytes.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import {
  ED25519_LENGTHS as ED,
  MLDSA65_LENGTHS as ML,
  type SignatureScheme,
  type SigningKey,
} from './types.ts';

export const HYBRID_LENGTHS = {
  seed: ED.seed + ML.seed,
  publicKey: ED.publicKey + ML.publicKey,
  signature: ED.signature + ML.signature,
} as const;

const tagged = (message: Uint8Array): Uint8Array =>
  concatBytes(tagBytes(DomainTag.HYBRID_SIGNATURE), abytes(message, 'message'));

export function hybridScheme(
  ed25519: SignatureScheme,
  mldsa65: SignatureScheme,
  random: (n: number) => Uint8Array,
): SignatureScheme {
  const halves = (secretKey: Uint8Array): [Uint8Array, Uint8Array] => {
    abytes(secretKey, 'secretKey', HYBRID_LENGTHS.seed);
    return [secretKey.subarray(0, ED.seed), secretKey.subarray(ED.seed)];
  };
  const scheme: SignatureScheme = {
    lengths: HYBRID_LENGTHS,
    keygen(seed = random(HYBRID_LENGTHS.seed)) {
      return { publicKey: scheme.getPublicKey(seed), secretKey: seed.slice() };
    },
    getPublicKey(secretKey) {
      const [e, m] = halves(secretKey);
      return concatBytes(ed25519.getPublicKey(e), mldsa65.getPublicKey(m));
    },
    sign(message, secretKey) {
      return scheme.signer(secretKey).sign(message);
    },
    verify(signature, message, publicKey) {
      if (
        signature.length !== HYBRID_LENGTHS.signature ||
        publicKey.length !== HYBRID_LENGTHS.publicKey
      )
        return false;
      const m = tagged(message);
      const edOk = ed25519.verify(
        signature.subarray(0, ED.signature),
        m,
        publicKey.subarray(0, ED.publicKey),
      );
      const mlOk = mldsa65.verify(
        signature.subarray(ED.signature),
        m,
        publicKey.subarray(ED.publicKey),
      );
      return edOk && mlOk;
    },
    signer(secretKey): SigningKey {
      const [e, m] = halves(secretKey);
      const edKey = ed25519.signer(e);
      const mlKey = mldsa65.signer(m);
      return {
        publicKey: concatBytes(edKey.publicKey, mlKey.publicKey),
        sign(message) {
          const t = tagged(message);
          return concatBytes(edKey.sign(t), mlKey.sign(t));
        },
      };
    },
  };
  return scheme;
}
