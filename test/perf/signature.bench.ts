// Ed25519 (RFC 8032), ML-DSA-65 (FIPS 204) and the qkms hybrid of both (protocol/suite/hybrid.ts)
// on the two CryptoSuite backends. Signing uses signer(), the node's identity key imported once
// at start-up; verifying repeats one public key, as a node verifies its fixed node set.
import { check, syncOp, type Bench } from './harness.ts';
import { SUITES } from './fixtures.ts';

/** Signed messages are tagged digests and short canonical-CBOR bodies; 64 bytes stands for them. */
const MESSAGE_BYTES = 64;

const SCHEMES = ['ed25519', 'mldsa65', 'hybrid'] as const;
/** hybrid.sign is ed25519.sign plus mldsa65.sign; only its verify is a scenario. */
const SIGNED = new Set<(typeof SCHEMES)[number]>(['ed25519', 'mldsa65']);

function build(): Bench[] {
  const message = new Uint8Array(MESSAGE_BYTES).fill(0x5a);
  const out: Bench[] = [];
  for (const scheme of SCHEMES) {
    for (const [impl, suite] of SUITES) {
      const s = suite[scheme];
      if (SIGNED.has(scheme)) {
        out.push({
          name: `${scheme}.sign`,
          impl,
          setup: () => {
            const signer = s.signer(s.keygen().secretKey);
            return syncOp(() => signer.sign(message));
          },
        });
      }
      out.push({
        name: `${scheme}.verify`,
        impl,
        setup: () => {
          const signer = s.signer(s.keygen().secretKey);
          const signature = signer.sign(message);
          check(s.verify(signature, message, signer.publicKey), `${impl} ${scheme} verifies`);
          return syncOp(() => s.verify(signature, message, signer.publicKey));
        },
      });
    }
  }
  return out;
}

export const signatureBenches: readonly Bench[] = build();
