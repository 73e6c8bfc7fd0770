// `qkms wallet new --out FILE`: a development wallet (secp256k1 private key
// as one line of 0x-prefixed hex, mode 0600). Prints its address only.
// `qkms wallet show FILE`: the address of such a file, never the key.
import { resolve } from 'node:path';
import { defaultSuite, toHex } from '../../protocol/index.ts';
import { walletFromPrivateKey } from '../../client/index.ts';
import { parseArgs as parseFlags } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { loadWallet, writeNewOutput } from '../files.ts';
import { noPositionals, printJson, requiredFlag, usageError, type CliIo } from '../io.ts';

export const WALLET_NEW_USAGE = `Usage: qkms wallet new --out FILE [--json]

Creates a development wallet key (one line of 0x-prefixed hex, mode 0600) and
prints its address. For real use, sign with a wallet through the library
(EIP-1193 provider or a viem/ox account); see docs/integration.md.
--json prints {"ok": true, "address", "keyFile"}; never the key.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.output], {
  [EXIT.ok]: 'created',
  [EXIT.output]: 'FILE exists (never overwritten) or its folder is missing',
})}`;

export const WALLET_NEW_FLAGS = { out: 'string', json: 'boolean', help: 'boolean' } as const;

export function walletNew(argv: readonly string[], io: CliIo): number {
  const { flags: values, positionals } = parseFlags(argv, WALLET_NEW_FLAGS);
  if (values.help === true) {
    io.stdout.write(`${WALLET_NEW_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const out = requiredFlag(values.out, 'out');
  // A secp256k1 key: 32 random bytes, which is below the curve order with overwhelming probability;
  // walletFromPrivateKey validates it.
  const key = defaultSuite().randomBytes(32);
  try {
    const address = walletFromPrivateKey(`0x${toHex(key)}`).address;
    const path = writeNewOutput(io, out, `0x${toHex(key)}\n`, { label: '--out', secret: true });
    if (values.json === true) printJson(io, { ok: true, address, keyFile: path });
    else io.stdout.write(`wallet ${address}\nkey file: ${path} (mode 0600)\n`);
    return EXIT.ok;
  } finally {
    key.fill(0);
  }
}

export const WALLET_SHOW_USAGE = `Usage: qkms wallet show FILE [--json]

Prints the address of the development wallet key FILE (made by 'qkms wallet
new'); never the key. Refuses a key file that others may read or write (fix
with chmod 600). --json prints {"ok": true, "address": …, "keyFile": …}.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'shown',
  [EXIT.config]: 'the file is missing, unsafe or not a key',
})}`;

export const WALLET_SHOW_FLAGS = { json: 'boolean', help: 'boolean' } as const;

export function walletShow(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseFlags(argv, WALLET_SHOW_FLAGS);
  if (flags.help === true) {
    io.stdout.write(`${WALLET_SHOW_USAGE}\n`);
    return EXIT.ok;
  }
  const [file, extra] = positionals;
  if (file === undefined || file === '') throw usageError('FILE: required (the wallet key file)');
  if (extra !== undefined) throw usageError(`${JSON.stringify(extra)}: unexpected argument`);
  const { address } = loadWallet(io, file);
  const keyFile = resolve(io.cwd, file);
  if (flags.json === true) printJson(io, { ok: true, address, keyFile });
  else io.stdout.write(`wallet ${address}\nkey file: ${keyFile}\n`);
  return EXIT.ok;
}
