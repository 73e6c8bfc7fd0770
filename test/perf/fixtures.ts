// Inputs shared by the scenario files: the two CryptoSuite backends and pools of X-Wing inputs,
// built once per process with the native backend (X-Wing and HPKE bytes are the same whichever
// backend or library made them) and only when a scenario that needs them runs.
import {
  nobleSuite,
  requireNativeSuite,
  seal,
  type CryptoSuite,
  type Encapsulation,
  type Sealed,
} from '../../protocol/internal.ts';

export const native = requireNativeSuite();

export const SUITES: readonly (readonly [impl: string, suite: CryptoSuite])[] = [
  ['qkms-native', native],
  ['qkms-noble', nobleSuite],
];

/**
 * Distinct inputs an encapsulation or decapsulation cycles through. In qkms every recovery seals
 * to a fresh client session key and every ciphertext carries a fresh ephemeral X25519 key, so a
 * benchmark repeating one input would time node:crypto's public-key cache (1024 entries,
 * protocol/suite/native.ts) instead of the import a real request pays. 1100 keeps every call a
 * miss; pure-JS implementations have no such cache and cost the same either way.
 */
export const POOL_SIZE = 1100;

/** A share travels as 32 bytes; HPKE seals one per message. */
export const SHARE_BYTES = 32;

export const SEAL_CONTEXT = {
  info: new TextEncoder().encode('qkms bench info'),
  aad: new TextEncoder().encode('qkms bench aad'),
} as const;

export const SHARE_PLAINTEXT = new Uint8Array(SHARE_BYTES).fill(7);

/** Returns the items in turn, forever. */
export function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => {
    const item = items[i];
    if (item === undefined) throw new RangeError(`cycle: expected a non-empty pool, got 0 items`);
    i = (i + 1) % items.length;
    return item;
  };
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}

/** POOL_SIZE distinct X-Wing public keys. */
export const recipientKeys = once(() =>
  Array.from({ length: POOL_SIZE }, () => native.xwing.keygen().publicKey),
);

export interface Recipient {
  /** The 32-byte X-Wing seed. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** One recipient key and POOL_SIZE encapsulations to it. */
export const encapsulations = once((): Recipient & { readonly pool: readonly Encapsulation[] } => {
  const { publicKey, secretKey } = native.xwing.keygen();
  const pool = Array.from({ length: POOL_SIZE }, () => native.xwing.encapsulate(publicKey));
  return { publicKey, secretKey, pool };
});

/** One recipient key and POOL_SIZE HPKE messages sealed to it, each of SHARE_PLAINTEXT. */
export const sealedShares = once(
  async (): Promise<Recipient & { readonly pool: readonly Sealed[] }> => {
    const { publicKey, secretKey } = native.xwing.keygen();
    const pool: Sealed[] = [];
    for (let i = 0; i < POOL_SIZE; i++) {
      pool.push(await seal(native, publicKey, SEAL_CONTEXT, SHARE_PLAINTEXT));
    }
    return { publicKey, secretKey, pool };
  },
);
