// Wallet adapters. All qkms needs from an Ethereum wallet is EIP-191
// `personal_sign` (https://eips.ethereum.org/EIPS/eip-191) of a delegation's
// SIWE text, so every source becomes the same small WalletSigner:
//   - a viem account (`privateKeyToAccount`, a JSON-RPC account, …);
//   - an EIP-1193 provider (https://eips.ethereum.org/EIPS/eip-1193): the
//     `personal_sign` method with params [0x-hex of the UTF-8 message, address],
//     as browser and hardware wallets implement it;
//   - a raw secp256k1 private key, for development wallets (CLI wallet files):
//     ox's Secp256k1 (RFC 6979 deterministic, low-S) over ox's PersonalMessage payload.
// A node refuses a high-S signature (the malleable twin), so signatures from
// outside sources are normalised to low-S here: the twin is the same wallet's
// signature of the same text, so nothing is forged by flipping it.
import * as Address from 'ox/Address';
import * as Hex from 'ox/Hex';
import * as PersonalMessage from 'ox/PersonalMessage';
import * as Secp256k1 from 'ox/Secp256k1';
import * as Signature from 'ox/Signature';
import {
  ErrorCode,
  QkmsError,
  type WalletSigner as ProtocolWalletSigner,
} from '../protocol/index.ts';
import { assertMethod } from './validate.ts';

/**
 * The one thing qkms needs from a wallet — protocol's WalletSigner itself:
 * `address` (0x, EIP-55 checksum if mixed-case) and `signMessage(message)`,
 * EIP-191 personal_sign resolving to 0x and 65 bytes (r ‖ s ‖ v) of hex.
 */
export type WalletSigner = ProtocolWalletSigner;

/** A viem Account (or anything with the same two members). */
export interface ViemLikeAccount {
  readonly address: string;
  signMessage(args: { message: string }): Promise<string>;
}

/** The request function of an EIP-1193 provider. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] }): Promise<unknown>;
}

/** secp256k1 group order n: s above n/2 is the malleable twin of s' = n − s. */
const SECP256K1_N = Secp256k1.noble.Point.Fn.ORDER;
const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;
const PRIVATE_KEY_HEX = /^(?:0x)?([0-9a-fA-F]{64})$/;

function argument(message: string, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.INVALID_ARGUMENT,
    message,
    cause === undefined ? undefined : { cause },
  );
}

function checkedAddress(address: unknown, name: string): string {
  if (typeof address !== 'string' || !Address.validate(address, { strict: true }))
    throw argument(`${name}: expected a 0x address with a valid EIP-55 checksum if mixed-case`);
  return address;
}

/**
 * r ‖ s ‖ v with s ≤ n/2: a high s becomes n − s and v flips parity. A value
 * that is not 65 bytes of hex is returned unchanged (createDelegation refuses it
 * with its own message).
 */
export function toLowS(signature: string): string {
  if (!SIGNATURE_HEX.test(signature)) return signature;
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  if (s <= SECP256K1_N / 2n) return signature;
  const v = Number.parseInt(signature.slice(130), 16);
  const flipped = v === 0 || v === 1 ? v ^ 1 : v === 27 ? 28 : v === 28 ? 27 : v;
  return (
    signature.slice(0, 66) +
    (SECP256K1_N - s).toString(16).padStart(64, '0') +
    flipped.toString(16).padStart(2, '0')
  );
}

/** A viem account as a WalletSigner (`privateKeyToAccount(key)`, `toAccount(…)`). */
export function walletFromViemAccount(account: ViemLikeAccount): WalletSigner {
  if (typeof account !== 'object' || (account as unknown) === null)
    throw argument('walletFromViemAccount: expected an account object');
  const address = checkedAddress(account.address, 'account.address');
  assertMethod(account, 'signMessage', 'account');
  return Object.freeze({
    address,
    signMessage: async (message: string) => toLowS(await account.signMessage({ message })),
  });
}

/**
 * An EIP-1193 provider's account as a WalletSigner: `personal_sign` with
 * params [0x-hex of the UTF-8 message, address], the order MetaMask and the
 * wallets following it use. The wallet shows the user the delegation text.
 */
export function walletFromEip1193(provider: Eip1193Provider, address: string): WalletSigner {
  if (typeof provider !== 'object' || (provider as unknown) === null)
    throw argument('walletFromEip1193: expected a provider object');
  assertMethod(provider, 'request', 'provider');
  const checked = checkedAddress(address, 'address');
  return Object.freeze({
    address: checked,
    signMessage: async (message: string) => {
      const result = await provider.request({
        method: 'personal_sign',
        params: [Hex.fromString(message), checked],
      });
      if (typeof result !== 'string')
        throw argument(`personal_sign: expected a hex string, got ${typeof result}`);
      return toLowS(result);
    },
  });
}

/**
 * A development wallet from a raw secp256k1 private key (0x and 64 hex
 * digits, or the 64 digits alone). The key stays in this closure for the
 * wallet's lifetime; JS cannot promise that no copy of it survives elsewhere.
 * Errors never carry the key or a library message that might quote it.
 */
export function walletFromPrivateKey(privateKeyHex: string): WalletSigner {
  const match = typeof privateKeyHex === 'string' ? PRIVATE_KEY_HEX.exec(privateKeyHex) : null;
  if (match?.[1] === undefined)
    throw argument('walletFromPrivateKey: expected 32 bytes of hex (64 digits, optional 0x)');
  const privateKey = Hex.toBytes(`0x${match[1]}`);
  let address: string;
  try {
    address = Address.fromPublicKey(Secp256k1.getPublicKey({ privateKey }), { checksum: true });
  } catch {
    privateKey.fill(0);
    throw argument('walletFromPrivateKey: not a valid secp256k1 private key (0 < key < n)');
  }
  return Object.freeze({
    address,
    signMessage: (message: string) => {
      const payload = PersonalMessage.getSignPayload(Hex.fromString(message));
      return Promise.resolve(Signature.toHex(Secp256k1.sign({ payload, privateKey })));
    },
  });
}
