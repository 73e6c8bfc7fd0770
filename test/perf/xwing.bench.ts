// X-Wing (draft-connolly-cfrg-xwing-kem) and HPKE base mode with X-Wing, HKDF-SHA256 and
// AES-256-GCM (RFC 9180): qkms on both backends against @noble/post-quantum's ml_kem768_x25519
// and @hpke/hybridkem-x-wing. Encapsulations go to a new recipient key and decapsulations take
// a new ciphertext each call (fixtures.ts, POOL_SIZE), as in a real recovery.
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { open, seal } from '../../protocol/internal.ts';
import {
  cycle,
  encapsulations,
  equal,
  native,
  recipientKeys,
  SEAL_CONTEXT,
  sealedShares,
  SHARE_PLAINTEXT,
  SUITES,
} from './fixtures.ts';
import { asyncOp, check, syncOp, type Bench } from './harness.ts';

const NOBLE_PQ = '@noble/post-quantum';
const HPKE_XWING = '@hpke/hybridkem-x-wing';

function kemBenches(): Bench[] {
  const out: Bench[] = [];
  for (const [impl, suite] of SUITES) {
    out.push(
      { name: 'xwing.keygen', impl, setup: () => syncOp(() => suite.xwing.keygen().publicKey) },
      {
        name: 'xwing.encapsulate',
        impl,
        setup: () => {
          const next = cycle(recipientKeys());
          return syncOp(() => suite.xwing.encapsulate(next()).cipherText);
        },
      },
      {
        // The hot-path form: a key imported once (decapsulator), then many decapsulations.
        name: 'xwing.decapsulate',
        impl,
        setup: () => {
          const { secretKey, pool } = encapsulations();
          const d = suite.xwing.decapsulator(secretKey);
          const first = pool[0];
          check(
            first !== undefined && equal(d.decapsulate(first.cipherText), first.sharedSecret),
            `${impl} decapsulates a pooled X-Wing ciphertext`,
          );
          const next = cycle(pool.map((e) => e.cipherText));
          return syncOp(() => d.decapsulate(next()));
        },
      },
    );
  }
  out.push(
    {
      // One recipient key over and over, as a node sealing to one session's key or a
      // publisher sealing to its node set: the native backend's public-key cache hits.
      name: 'xwing.encapsulate',
      impl: 'qkms-native-same-key',
      setup: () => {
        const key = recipientKeys()[0] ?? native.xwing.keygen().publicKey;
        return syncOp(() => native.xwing.encapsulate(key).cipherText);
      },
    },
    {
      // Imports the ML-KEM and X25519 keys from the 32-byte seed on every call: what the
      // decapsulator saves.
      name: 'xwing.decapsulate',
      impl: 'qkms-native-seed',
      setup: () => {
        const { secretKey, pool } = encapsulations();
        const next = cycle(pool.map((e) => e.cipherText));
        return syncOp(() => native.xwing.decapsulate(next(), secretKey));
      },
    },
    {
      name: 'xwing.keygen',
      impl: NOBLE_PQ,
      setup: () => syncOp(() => ml_kem768_x25519.keygen().publicKey),
    },
    {
      name: 'xwing.encapsulate',
      impl: NOBLE_PQ,
      setup: () => {
        const next = cycle(recipientKeys());
        return syncOp(() => ml_kem768_x25519.encapsulate(next()).cipherText);
      },
    },
    {
      name: 'xwing.decapsulate',
      impl: NOBLE_PQ,
      setup: () => {
        const { secretKey, pool } = encapsulations();
        const first = pool[0];
        check(
          first !== undefined &&
            equal(ml_kem768_x25519.decapsulate(first.cipherText, secretKey), first.sharedSecret),
          `${NOBLE_PQ} decapsulates a qkms X-Wing ciphertext`,
        );
        const next = cycle(pool.map((e) => e.cipherText));
        return syncOp(() => ml_kem768_x25519.decapsulate(next(), secretKey));
      },
    },
  );
  return out;
}

function hpkeBenches(): Bench[] {
  const out: Bench[] = [];
  for (const [impl, suite] of SUITES) {
    out.push(
      {
        name: 'hpke.seal',
        impl,
        setup: () => {
          const next = cycle(recipientKeys());
          return asyncOp(
            async () => (await seal(suite, next(), SEAL_CONTEXT, SHARE_PLAINTEXT)).ciphertext,
          );
        },
      },
      {
        // Opened with the pre-imported decapsulator, as a client does with its session key.
        name: 'hpke.open',
        impl,
        setup: async () => {
          const { secretKey, pool } = await sealedShares();
          const d = suite.xwing.decapsulator(secretKey);
          const first = pool[0];
          check(
            first !== undefined &&
              equal(await open(suite, d, SEAL_CONTEXT, first), SHARE_PLAINTEXT),
            `${impl} opens a pooled HPKE message`,
          );
          const next = cycle(pool);
          return asyncOp(() => open(suite, d, SEAL_CONTEXT, next()));
        },
      },
    );
  }

  out.push({
    // One recipient key over and over, as a node sealing share after share to one session's
    // key: the native backend's public-key cache hits (what recover.floor prices).
    name: 'hpke.seal',
    impl: 'qkms-native-same-key',
    setup: () => {
      const key = recipientKeys()[0] ?? native.xwing.keygen().publicKey;
      return asyncOp(
        async () => (await seal(native, key, SEAL_CONTEXT, SHARE_PLAINTEXT)).ciphertext,
      );
    },
  });

  // @hpke/hybridkem-x-wing: the recipient's public key arrives as bytes and is deserialized on
  // every seal (qkms's seal does the same inside); its private key is imported once.
  const kem = new XWing();
  const theirs = new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  const { info, aad } = SEAL_CONTEXT;
  out.push(
    {
      name: 'hpke.seal',
      impl: HPKE_XWING,
      setup: () => {
        const next = cycle(recipientKeys());
        return asyncOp(async () => {
          const recipientPublicKey = await kem.deserializePublicKey(next());
          return (await theirs.seal({ recipientPublicKey, info }, SHARE_PLAINTEXT, aad)).ct;
        });
      },
    },
    {
      name: 'hpke.open',
      impl: HPKE_XWING,
      setup: async () => {
        const { secretKey, pool } = await sealedShares();
        const { privateKey } = await kem.generateKeyPairDerand(secretKey.slice());
        const openOne = (sealed: (typeof pool)[number]): Promise<ArrayBuffer> =>
          theirs.open({ recipientKey: privateKey, enc: sealed.enc, info }, sealed.ciphertext, aad);
        const first = pool[0];
        check(
          first !== undefined && equal(new Uint8Array(await openOne(first)), SHARE_PLAINTEXT),
          `${HPKE_XWING} opens a qkms HPKE message`,
        );
        const next = cycle(pool);
        return asyncOp(() => openOne(next()));
      },
    },
  );
  return out;
}

export const xwingBenches: readonly Bench[] = [...kemBenches(), ...hpkeBenches()];
