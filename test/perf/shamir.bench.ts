// Shamir secret sharing over GF(2^8) of a 32-byte content key, 3-of-5: qkms's shamir/ (branch-free,
// table-free field arithmetic, combine verified by a callback) against `shamir-secret-sharing`
// (log/exp tables, async API). Both combines check the result against the secret, qkms's inside
// its verify callback, the other's after it returns, so both do the same work.
import * as theirs from 'shamir-secret-sharing';
import { combine, split, type Share } from '../../shamir/index.ts';
import { equal } from './fixtures.ts';
import { asyncOp, check, syncOp, type Bench } from './harness.ts';

const SECRET_BYTES = 32;
const THRESHOLD = 3;
const SHARES = 5;
const THEIRS = 'shamir-secret-sharing';

const secret = new Uint8Array(SECRET_BYTES).map((_, i) => (i * 37 + 11) & 0xff);
const options = { threshold: THRESHOLD, shares: SHARES } as const;

function ours(shares: readonly Share[]): Uint8Array {
  return combine(shares.slice(0, THRESHOLD), {
    threshold: THRESHOLD,
    verify: (candidate) => equal(candidate, secret),
  }).secret;
}

async function theirsCombine(shares: Uint8Array[]): Promise<boolean> {
  return equal(await theirs.combine(shares.slice(0, THRESHOLD)), secret);
}

export const shamirBenches: readonly Bench[] = [
  {
    name: 'shamir.split_combine_3of5',
    impl: 'qkms',
    setup: () => syncOp(() => ours(split(secret, options))),
  },
  {
    name: 'shamir.split_combine_3of5',
    impl: THEIRS,
    setup: () =>
      asyncOp(async () => {
        const ok = await theirsCombine(await theirs.split(secret, SHARES, THRESHOLD));
        if (!ok) throw new Error(`${THEIRS}: combine did not return the secret`);
        return ok;
      }),
  },
  {
    name: 'shamir.split_3of5',
    impl: 'qkms',
    setup: () => syncOp(() => split(secret, options)[0]?.y ?? 0),
  },
  {
    name: 'shamir.split_3of5',
    impl: THEIRS,
    setup: () => asyncOp(async () => (await theirs.split(secret, SHARES, THRESHOLD))[0] ?? 0),
  },
  {
    name: 'shamir.combine_3of5',
    impl: 'qkms',
    setup: () => {
      const shares = split(secret, options);
      return syncOp(() => ours(shares));
    },
  },
  {
    name: 'shamir.combine_3of5',
    impl: THEIRS,
    setup: async () => {
      const shares = await theirs.split(secret, SHARES, THRESHOLD);
      check(await theirsCombine(shares), `${THEIRS} combines its own shares`);
      return asyncOp(() => theirsCombine(shares));
    },
  },
];
