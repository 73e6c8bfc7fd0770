// `qkms admin key new`: creates a hybrid Ed25519 + ML-DSA-65 admin signing
// key (DESIGN.md, Identities and keys), and the one reader of the file it
// writes, for every command that signs with it (nodeset sign, revoke,
// quorum up).
//
// The admin key file is ONE line, "0x" and 128 lower-case hex characters: the
// 64-byte hybrid seed (Ed25519 seed || ML-DSA-65 seed, protocol/suite/hybrid.ts),
// mode 0600 in a directory others cannot write to (node/secret-file.ts). Only
// its public key is ever printed.
import { dirname } from 'node:path';
import {
  ErrorCode,
  HYBRID_LENGTHS,
  QkmsError,
  fromHex,
  requireNativeSuite,
  toHex,
  wipe,
  type CryptoSuite,
} from '../../protocol/internal.ts';
import {
  assertNoSecretFile,
  prepareSecretDir,
  readSecretFile,
  writeNewSecretFile,
} from '../../node/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { abbreviate, noPositionals, printJson, requiredPath, type CliIo } from '../io.ts';

export const ADMIN_KEY_NEW_FLAGS = { out: 'string', json: 'boolean', help: 'boolean' } as const;

export const ADMIN_KEY_NEW_USAGE = `Usage: qkms admin key new --out FILE [--json]

Creates an admin signing key: a hybrid Ed25519 + ML-DSA-65 key, whose
signatures count only while both halves verify. FILE gets its 64-byte secret
seed as one line of hex ("0x…"), file mode 0600 (a missing directory is
created 0700). Refuses to replace an existing file. Keep FILE offline and
backed up: whoever holds it is one of the node set's admins.

Prints the public key (${HYBRID_LENGTHS.publicKey} bytes, hex) to add to "admins.keys" of the
node-set document; --json prints {"ok": true, "keyFile", "publicKey"}
instead. Never prints the secret.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'created',
  [EXIT.config]: 'the key file exists, or its directory is unsafe or cannot be made',
})}`;

/** What the "already exists" refusal says an admin key file holds. */
const ADMIN_KEY_WHAT = 'an admin key';
/** The file is 131 bytes ("0x", 128 hex, newline); anything much larger is not an admin key. */
const MAX_ADMIN_KEY_FILE_BYTES = 1024;
/** One line, "0x" and the seed in lower-case hex, as `key new` writes it. */
const ADMIN_KEY_LINE = new RegExp(`^0x([0-9a-f]{${2 * HYBRID_LENGTHS.seed}})\\r?\\n?$`);
/** Random bytes naming a temp file next to the one being written. */
const TEMP_SUFFIX_BYTES = 8;

/** The admin's 64-byte hybrid seed from a file `key new` wrote. The caller wipes it. */
export function readAdminKey(path: string): Uint8Array {
  const text = readSecretFile(path, {
    maxBytes: MAX_ADMIN_KEY_FILE_BYTES,
    missingHint: 'create an admin key with: qkms admin key new --out FILE',
  });
  const hex = ADMIN_KEY_LINE.exec(text)?.[1];
  if (hex === undefined) {
    throw new QkmsError(
      ErrorCode.KEYSTORE_INVALID,
      `admin key ${path}: expected one line, "0x" and ${2 * HYBRID_LENGTHS.seed} lower-case hex characters, as 'qkms admin key new' writes`,
    );
  }
  return fromHex(hex);
}

/**
 * Creates the admin key file OUT (its directory 0700 if missing) with a fresh
 * seed and returns the public key, lower-case hex. Refuses an existing file.
 */
export function createAdminKey(out: string, suite: CryptoSuite): string {
  prepareSecretDir(dirname(out));
  // Checked again, atomically, when the file is linked into place.
  assertNoSecretFile(out, ADMIN_KEY_WHAT);
  const seed = suite.randomBytes(HYBRID_LENGTHS.seed);
  try {
    const publicKey = toHex(suite.hybrid.getPublicKey(seed));
    writeNewSecretFile(out, `0x${toHex(seed)}\n`, {
      randomSuffix: toHex(suite.randomBytes(TEMP_SUFFIX_BYTES)),
      what: ADMIN_KEY_WHAT,
    });
    return publicKey;
  } finally {
    wipe(seed);
  }
}

/** Runs `qkms admin key new ARGS`. */
export function adminKeyNew(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseArgs(argv, ADMIN_KEY_NEW_FLAGS);
  if (flags.help) {
    io.stdout.write(`${ADMIN_KEY_NEW_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const out = requiredPath(io, flags.out, '--out');
  const publicKey = createAdminKey(out, requireNativeSuite());
  if (flags.json) {
    printJson(io, { ok: true, keyFile: out, publicKey });
    return EXIT.ok;
  }
  io.stdout.write(
    [
      `Created ${out} (mode 0600): an admin signing key (Ed25519 + ML-DSA-65).`,
      'Keep it offline and backed up; its secret is never printed.',
      '',
      `  Public key  ${abbreviate(publicKey)} (${publicKey.length / 2} bytes; in full below)`,
      '',
      'Add this public key to "admins.keys" of the node-set document:',
      '',
      JSON.stringify(publicKey),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
