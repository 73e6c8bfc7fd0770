// SHA-256 (FIPS 180-4) and SHA3-256 (FIPS 202) of 1 KiB on the two CryptoSuite backends.
import { SUITES } from './fixtures.ts';
import { syncOp, type Bench } from './harness.ts';

/** About a manifest or a revocation record: what qkms hashes most. */
const INPUT_BYTES = 1024;

const input = new Uint8Array(INPUT_BYTES).fill(0xa5);

export const hashBenches: readonly Bench[] = (['sha256', 'sha3_256'] as const).flatMap((hash) =>
  SUITES.map(([impl, suite]): Bench => ({
    name: hash,
    impl,
    setup: () => syncOp(() => suite[hash](input)),
  })),
);
