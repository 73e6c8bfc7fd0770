// Wallet adapters: a raw-key dev wallet signs exactly as viem does (RFC 6979,
// low-S, EIP-191), an EIP-1193 provider is asked for personal_sign with the
// hex of the UTF-8 text and the address, a high-S signature from outside is
// turned into its low-S twin (which still recovers the wallet), and bad
// inputs are refused without echoing a key.
import { Address, Hex, PersonalMessage, Secp256k1 } from 'ox';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  createDelegation,
  requireNativeSuite,
  verifyDelegationSignature,
} from '../protocol/internal.ts';
import {
  OTHER_WALLET_PRIVATE_KEY,
  WALLET_PRIVATE_KEY,
  quorumFixture,
} from '../test/support/protocol-fixture.ts';
import {
  toLowS,
  walletFromEip1193,
  walletFromPrivateKey,
  walletFromViemAccount,
} from './wallet.ts';

const N = Secp256k1.noble.Point.Fn.ORDER;
const suite = requireNativeSuite();
const quorum = quorumFixture(suite, 3, 2);
const MESSAGES = ['hello', '', 'naïve — ünïcödé ✓\nsecond line', 'x'.repeat(3000)];

function sOf(signature: string): bigint {
  return BigInt(`0x${signature.slice(66, 130)}`);
}

/** The malleable twin: s → n − s, v flipped. */
function highS(signature: string): string {
  const s = sOf(signature);
  const v = Number.parseInt(signature.slice(130), 16);
  return (
    signature.slice(0, 66) +
    (N - s).toString(16).padStart(64, '0') +
    (v === 27 ? 28 : 27).toString(16)
  );
}

/** The checksummed address that signed `message`. */
function recovers(message: string, signature: string): string {
  return Address.checksum(
    Secp256k1.recoverAddress({
      payload: PersonalMessage.getSignPayload(Hex.fromString(message)),
      signature: Hex.toBytes(signature as Hex.Hex),
    }),
  );
}

describe('walletFromPrivateKey', () => {
  it('has viem’s address and signs byte for byte as viem does', async () => {
    for (const key of [WALLET_PRIVATE_KEY, OTHER_WALLET_PRIVATE_KEY] as const) {
      const ours = walletFromPrivateKey(key);
      const viem = privateKeyToAccount(key);
      expect(ours.address).toBe(viem.address);
      for (const message of MESSAGES) {
        const signature = await ours.signMessage(message);
        expect(signature).toBe(await viem.signMessage({ message }));
        expect(sOf(signature) <= N / 2n).toBe(true);
      }
    }
  });

  it('accepts the key with or without 0x, in either case', () => {
    const address = privateKeyToAccount(WALLET_PRIVATE_KEY).address;
    expect(walletFromPrivateKey(WALLET_PRIVATE_KEY.slice(2)).address).toBe(address);
    expect(walletFromPrivateKey(WALLET_PRIVATE_KEY.toUpperCase().replace('0X', '0x')).address).toBe(
      address,
    );
  });

  it('refuses what is not a valid secp256k1 key, never quoting it', () => {
    const bad = [
      '',
      '0x',
      '0x1234',
      `0x${'zz'.repeat(32)}`,
      `0x${'00'.repeat(32)}`,
      `0x${N.toString(16)}`,
      `0x${'ff'.repeat(32)}`,
      `${WALLET_PRIVATE_KEY}00`,
    ];
    for (const key of bad) {
      let error: unknown;
      try {
        walletFromPrivateKey(key);
      } catch (e) {
        error = e;
      }
      expect(error, key).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
      if (key.length > 10) expect((error as Error).message).not.toContain(key.slice(2, 20));
    }
    expect(() => walletFromPrivateKey(42 as unknown as string)).toThrow();
  });
});

describe('walletFromEip1193', () => {
  const account = privateKeyToAccount(WALLET_PRIVATE_KEY);

  it('asks personal_sign with [0x-hex of the UTF-8 message, address] and returns the signature', async () => {
    const seen: unknown[] = [];
    const provider = {
      request: async (args: { method: string; params?: readonly unknown[] }) => {
        seen.push(args);
        return account.signMessage({ message: { raw: args.params?.[0] as `0x${string}` } });
      },
    };
    const wallet = walletFromEip1193(provider, account.address);
    for (const message of MESSAGES) {
      const signature = await wallet.signMessage(message);
      expect(recovers(message, signature)).toBe(account.address);
    }
    expect(seen[2]).toEqual({
      method: 'personal_sign',
      params: [Hex.fromString(MESSAGES[2]!), account.address],
    });
  });

  it('turns a high-S signature into its low-S twin, which a delegation accepts', async () => {
    const provider = {
      request: async (args: { method: string; params?: readonly unknown[] }) =>
        highS(await account.signMessage({ message: { raw: args.params?.[0] as `0x${string}` } })),
    };
    const delegation = await createDelegation({
      wallet: walletFromEip1193(provider, account.address),
      domain: quorum.nodeSet.params.siweDomain,
      nodeSetId: quorum.nodeSet.id,
      chainId: quorum.nodeSet.params.chainId,
      sessionPublicKey: suite.ed25519.keygen().publicKey,
      capabilities: { actions: ['recover'], content: 'all' },
      issuedAt: 1_800_000_000_000,
      expiresAt: 1_800_000_600_000,
    });
    expect(verifyDelegationSignature(suite, delegation).address).toBe(account.address);
  });

  it('refuses a non-string answer, a bad address and a provider without request', async () => {
    const wallet = walletFromEip1193({ request: () => Promise.resolve(42) }, account.address);
    await expect(wallet.signMessage('hi')).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    const badChecksum = account.address.replace(/[a-f]/, (c) => c.toUpperCase());
    expect(() => walletFromEip1193({ request: () => Promise.resolve('') }, badChecksum)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => walletFromEip1193({} as never, account.address)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});

describe('walletFromViemAccount and toLowS', () => {
  it('wraps a viem account', async () => {
    const account = privateKeyToAccount(OTHER_WALLET_PRIVATE_KEY);
    const wallet = walletFromViemAccount(account);
    expect(wallet.address).toBe(account.address);
    expect(await wallet.signMessage('hello')).toBe(await account.signMessage({ message: 'hello' }));
    expect(() =>
      walletFromViemAccount({ address: 'nope', signMessage: account.signMessage }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('toLowS maps a high-S twin back to the low-S original and leaves low-S and junk alone', async () => {
    const signature = await privateKeyToAccount(WALLET_PRIVATE_KEY).signMessage({ message: 'm' });
    expect(toLowS(signature)).toBe(signature);
    expect(toLowS(highS(signature))).toBe(signature);
    expect(recovers('m', highS(signature))).toBe(recovers('m', signature));
    for (const junk of ['', '0x12', 'not hex']) expect(toLowS(junk)).toBe(junk);
  });
});
