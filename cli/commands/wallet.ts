// `qkms wallet new --out FILE`: a development wallet (secp256k1 private key
// as one line of 0x-prefixed hex, mode 0600). Prints its address only.
import { parseArgs } from 'node:util';
import { defaultSuite, toHex } from '../../protocol/index.ts';
import { walletFromPrivateKey } from '../../client/index.ts';
import { EXIT, usageError, writeSecretFile, type CliIo } from '../io.ts';

export const WALLET_NEW_USAGE = `Usage: qkms wallet new --out FILE [--json]

Creates a development wallet key (one line of 0x-prefixed hex, mode 0600) and
prints its address. For real use, sign with a wallet through the library
(EIP-1193 provider or a viem/ox account); see docs/integration.md.`;

export function walletNew(argv: readonly string[], io: CliIo): number {
  let values: { out?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (e) {
    throw usageError(e instanceof Error ? e.message : 'bad arguments');
  }
  if (values.help === true) {
    io.stdout.write(`${WALLET_NEW_USAGE}\n`);
    return EXIT.ok;
  }
  if (values.out === undefined || values.out === '') throw usageError('--out FILE: required');
  // A secp256k1 key: 32 random bytes, which is below the curve order with overwhelming probability;
  // walletFromPrivateKey validates it.
  const key = defaultSuite().randomBytes(32);
  try {
    const address = walletFromPrivateKey(`0x${toHex(key)}`).address;
    const path = writeSecretFile(io, values.out, `0x${toHex(key)}\n`);
    io.stdout.write(
      values.json === true
        ? `${JSON.stringify({ address, keyFile: path })}\n`
        : `wallet ${address}\nkey file: ${path} (mode 0600)\n`,
    );
    return EXIT.ok;
  } finally {
    key.fill(0);
  }
}
