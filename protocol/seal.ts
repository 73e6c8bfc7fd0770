// HPKE (RFC 9180) base mode with KEM X-Wing (0x647A), KDF HKDF-SHA256 (0x0001)
// and AEAD AES-256-GCM (0x0002): how a share travels to the one key that may
// open it. Single-shot: one message per encapsulation. The caller derives
// `info` and `aad` from the request fields (protocol/grant), so a share sealed
// for one request opens for no other.
import { CipherSuite } from '@hpke/core';
import { abytes } from './assert.ts';
import { ErrorCode, QkmsError } from './errors.ts';
import { XWingKem, decapsulatorKey } from './hpke-kem.ts';
import { SuiteAes256Gcm, SyncHkdfSha256 } from './hpke-sync.ts';
import type { CryptoSuite, Decapsulator } from './suite/types.ts';
import { XWING_LENGTHS } from './suite/types.ts';

export const HPKE_SUITE = { kem: 0x647a, kdf: 0x0001, aead: 0x0002 } as const;
/** AES-256-GCM tag appended to every sealed plaintext. */
export const HPKE_TAG_BYTES = 16;

export interface Sealed {
  /** The X-Wing encapsulation, 1120 bytes. */
  readonly enc: Uint8Array;
  /** AEAD ciphertext, plaintext length + 16. */
  readonly ciphertext: Uint8Array;
}

export interface SealContext {
  readonly info: Uint8Array;
  readonly aad: Uint8Array;
}

const suites = new WeakMap<CryptoSuite, { hpke: CipherSuite; kem: XWingKem }>();

function hpkeFor(suite: CryptoSuite): { hpke: CipherSuite; kem: XWingKem } {
  let entry = suites.get(suite);
  if (entry === undefined) {
    const kem = new XWingKem(suite);
    entry = {
      kem,
      hpke: new CipherSuite({ kem, kdf: new SyncHkdfSha256(), aead: new SuiteAes256Gcm(suite) }),
    };
    suites.set(suite, entry);
  }
  return entry;
}

export async function seal(
  suite: CryptoSuite,
  recipientPublicKey: Uint8Array,
  context: SealContext,
  plaintext: Uint8Array,
): Promise<Sealed> {
  abytes(recipientPublicKey, 'recipientPublicKey', XWING_LENGTHS.publicKey);
  const { hpke, kem } = hpkeFor(suite);
  const recipient = await kem.deserializePublicKey(recipientPublicKey);
  const { enc, ct } = await hpke.seal(
    { recipientPublicKey: recipient, info: abytes(context.info, 'info') },
    abytes(plaintext, 'plaintext'),
    abytes(context.aad, 'aad'),
  );
  return { enc: new Uint8Array(enc), ciphertext: new Uint8Array(ct) };
}

/**
 * Opens a sealed message with the recipient's 32-byte X-Wing seed or an
 * imported Decapsulator (faster when one key opens many messages). Any
 * failure — wrong key, wrong info/aad, tampered bytes — is DECRYPT_FAILED.
 */
export async function open(
  suite: CryptoSuite,
  recipient: Uint8Array | Decapsulator,
  context: SealContext,
  sealed: Sealed,
): Promise<Uint8Array> {
  abytes(sealed.enc, 'enc', XWING_LENGTHS.cipherText);
  abytes(sealed.ciphertext, 'ciphertext');
  const { hpke, kem } = hpkeFor(suite);
  const recipientKey =
    recipient instanceof Uint8Array
      ? await kem.deserializePrivateKey(abytes(recipient, 'recipient', XWING_LENGTHS.seed))
      : decapsulatorKey(recipient);
  try {
    const pt = await hpke.open(
      { recipientKey, enc: sealed.enc, info: abytes(context.info, 'info') },
      sealed.ciphertext,
      abytes(context.aad, 'aad'),
    );
    return new Uint8Array(pt);
  } catch (e) {
    throw new QkmsError(ErrorCode.DECRYPT_FAILED, 'HPKE: open failed', { cause: e });
  } finally {
    if (recipient instanceof Uint8Array) await kem.wipePrivateKey(recipientKey);
  }
}
